//! Insta YAML snapshots of the rendered children (render order, §4.1) of every reference conversion input, every
//! reference example that renders, every file of `examples/`, one case per backend type and one case per
//! rendering deviation that changes output. Each snapshot is named after its input.

mod common;

use booster_render::{Settings, render, validate};
use common::{
    ascend, booster, booster_json, cpu_only, example_files, gpu, model, pd, policy, reference_dir, render_values,
    render_values_with, sglang, vllm,
};
use serde_json::{Value, json};

fn snapshot(name: &str, text: &str) {
    snapshot_with(name, text, &Settings::default());
}

fn snapshot_with(name: &str, text: &str, settings: &Settings) {
    let children = render_values_with(&booster(text), settings).unwrap_or_else(|e| panic!("{name}: {e}"));
    insta::assert_yaml_snapshot!(name, children);
}

/// Snapshot of the children of a small inline input (see `common::model`).
fn snapshot_json(name: &str, input: &Value) {
    let children = render_values(&booster_json(input));
    insta::assert_yaml_snapshot!(name, children);
}

fn reference_file(path: &str) -> String {
    std::fs::read_to_string(reference_dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---- Reference conversion inputs (rendered although they fail validation, §6.4). ----

#[test]
fn convert_input_model() {
    snapshot("convert-input-model", &reference_file("convert/input/model.yaml"));
}

#[test]
fn convert_input_multi_backends_model() {
    snapshot("convert-input-multi-backends-model", &reference_file("convert/input/multi-backends-model.yaml"));
}

#[test]
fn convert_input_multi_lora_model() {
    snapshot("convert-input-multi-lora-model", &reference_file("convert/input/multi-lora-model.yaml"));
}

#[test]
fn convert_input_pd_disaggregated_model() {
    snapshot("convert-input-pd-disaggregated-model", &reference_file("convert/input/pd-disaggregated-model.yaml"));
}

// ---- Reference examples. ----

#[test]
fn reference_example_qwen2_5_0_5b_instruct() {
    snapshot("reference-example-qwen2.5-0.5b-instruct", &reference_file("examples/Qwen2.5-0.5B-Instruct.yaml"));
}

#[test]
fn reference_example_qwen2_5_coder_32b_instruct() {
    snapshot(
        "reference-example-qwen2.5-coder-32b-instruct",
        &reference_file("examples/Qwen2.5-Coder-32B-Instruct.yaml"),
    );
}

#[test]
fn reference_example_prefill_decode_disaggregation() {
    snapshot(
        "reference-example-prefill-decode-disaggregation",
        &reference_file("examples/prefill-decode-disaggregation.yaml"),
    );
}

/// The Deepseek example has a relative host path (`hostpath://tmp/test`): it does not render (D-9, V-41).
#[test]
fn reference_example_deepseek_r1_distill_llama_8b_fails_to_render() {
    let m = booster(&reference_file("examples/Deepseek-R1-Distill-llama-8B.yaml"));
    let error = render(&m, &Settings::default()).expect_err("a relative host path does not render");
    assert_eq!(
        error.to_string(),
        "spec.backends[0].cacheURI: cacheURI must be pvc://<claim-name> or hostpath://<absolute-path> (for example hostpath:///mnt/cache)"
    );
}

// ---- examples/: every file is one valid ModelBooster that renders. ----

macro_rules! examples {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                let text = std::fs::read_to_string(common::repo_root().join("examples").join($file)).expect("example");
                snapshot(concat!("example-", $file), &text);
            }
        )*

        /// Every file of `examples/` has a snapshot test above.
        #[test]
        fn every_example_has_a_snapshot() {
            let files: Vec<String> = example_files()
                .iter()
                .map(|path| path.file_name().expect("file name").to_string_lossy().into_owned())
                .collect();
            let mut listed = vec![$($file),*];
            listed.sort_unstable();
            assert_eq!(files, listed);
        }
    };
}

examples! {
    example_ascend_pd => "ascend-pd.yaml",
    example_deepseek_r1_distill_llama_8b => "deepseek-r1-distill-llama-8b.yaml",
    example_gpu_pd_nixl => "gpu-pd-nixl.yaml",
    example_gpu_vllm => "gpu-vllm.yaml",
    example_multi_backend_autoscaling => "multi-backend-autoscaling.yaml",
    example_multi_node_lora => "multi-node-lora.yaml",
    example_prefill_decode_disaggregation => "prefill-decode-disaggregation.yaml",
    example_qwen25_0_5b_instruct => "qwen25-0.5b-instruct.yaml",
    example_qwen25_coder_32b_instruct => "qwen25-coder-32b-instruct.yaml",
    example_sglang => "sglang.yaml",
}

/// The rules of `examples/`: a comment header, one strict ModelBooster document with apiVersion, kind and name and no
/// namespace, an image on every worker, names within V-39, valid, and renderable.
#[test]
fn every_example_is_a_valid_model_booster_that_renders() {
    for path in example_files() {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).expect("example");
        assert!(text.starts_with("# "), "{file}: starts with a comment header saying what it shows");
        let raw: Value = serde_yaml::from_str(&text).expect("YAML");
        assert_eq!(raw["apiVersion"], "workload.serving.volcano.sh/v1alpha1", "{file}");
        assert_eq!(raw["kind"], "ModelBooster", "{file}");
        assert!(raw["metadata"]["name"].is_string(), "{file}: metadata.name");
        assert!(raw["metadata"].get("namespace").is_none(), "{file}: no namespace");
        assert!(raw["metadata"].get("uid").is_none(), "{file}: no uid");
        let boosters = booster_api::strict::decode_all::<booster_api::ModelBooster>(&text).expect("strict decoding");
        assert_eq!(boosters.len(), 1, "{file}: one document");
        let m = common::with_cluster_metadata(boosters.into_iter().next().expect("one document"));
        let name = m.metadata.name.as_deref().expect("name");
        assert!(name.len() <= 45, "{file}: V-39");
        for backend in &m.spec.backends {
            assert!(name.len() + backend.name.len() < 63, "{file}: V-39");
            for worker in &backend.workers {
                assert!(worker.image.as_deref().is_some_and(|i| !i.trim().is_empty()), "{file}: worker image");
            }
        }
        if let Err(errors) = validate(&m) {
            panic!("{file} is invalid:\n{errors}");
        }
        render(&m, &Settings::default()).unwrap_or_else(|e| panic!("{file} does not render: {e}"));
    }
}

/// Spec §6.4: the corrected Qwen2.5-Coder example renders a ModelServer whose model is its `spec.name`.
#[test]
fn corrected_qwen25_coder_announces_its_spec_name() {
    let text =
        std::fs::read_to_string(common::repo_root().join("examples/qwen25-coder-32b-instruct.yaml")).expect("file");
    let children = render_values(&booster(&text));
    let server = children.iter().find(|c| c["kind"] == "ModelServer").expect("ModelServer");
    assert_eq!(server["spec"]["model"], "qwen25-coder-32b");
}

/// The two reference examples that are already valid are copied unchanged (apart from the namespace).
#[test]
fn valid_reference_examples_are_copied_unchanged() {
    for (reference, ours) in [
        ("examples/Qwen2.5-0.5B-Instruct.yaml", "qwen25-0.5b-instruct.yaml"),
        ("examples/prefill-decode-disaggregation.yaml", "prefill-decode-disaggregation.yaml"),
    ] {
        let mut expected: Value = serde_yaml::from_str(&reference_file(reference)).expect("YAML");
        expected["metadata"].as_object_mut().expect("metadata").remove("namespace");
        let copy = std::fs::read_to_string(common::repo_root().join("examples").join(ours)).expect("copy");
        let copy: Value = serde_yaml::from_str(&copy).expect("YAML");
        assert_eq!(copy, expected, "{ours}");
        let reference_booster = booster(&reference_file(reference));
        assert!(validate(&reference_booster).is_ok(), "{reference} is valid (spec §6.4)");
    }
}

// ---- One case per backend type. ----

#[test]
fn backend_type_vllm() {
    let mut b = vllm("b");
    b["workers"][0]["resources"] = gpu();
    b["workers"][0]["config"] = json!({"max-model-len": 8192});
    snapshot_json("backend-type-vllm", &model(json!([b])));
}

#[test]
fn backend_type_vllm_multi_node() {
    let mut b = vllm("b");
    b["workers"][0]["pods"] = json!(2);
    b["workers"][0]["resources"] = json!({"limits": {"nvidia.com/gpu": "8"}});
    b["workers"][0]["config"] = json!({"tensor-parallel-size": 8, "pipeline-parallel-size": 2});
    snapshot_json("backend-type-vllm-multi-node", &model(json!([b])));
}

#[test]
fn backend_type_vllm_disaggregated() {
    let mut b = pd("c", gpu(), gpu());
    for (i, kv_role) in [(0, "kv_producer"), (1, "kv_consumer")] {
        b["workers"][i]["config"] = json!({
            "kv-transfer-config": format!(r#"{{"kv_connector":"LMCacheConnectorV1","kv_role":"{kv_role}"}}"#),
        });
    }
    snapshot_json("backend-type-vllm-disaggregated", &model(json!([b])));
}

#[test]
fn backend_type_sglang() {
    let mut b = sglang("s");
    b["workers"][0]["resources"] = gpu();
    snapshot_json("backend-type-sglang", &model(json!([b])));
}

/// MindIE types have no rendering (D-17): the render error is the V-30 message.
#[test]
fn backend_type_mindie_does_not_render() {
    for backend_type in ["MindIE", "MindIEDisaggregated"] {
        let mut b = vllm("x");
        b["type"] = json!(backend_type);
        let error = render(&booster_json(&model(json!([b]))), &Settings::default()).expect_err("unsupported");
        assert_eq!(
            error.to_string(),
            format!(
                "spec.backends[0].type: backend type '{backend_type}' is not supported yet; supported types: vLLM, vLLMDisaggregated, SGLang"
            )
        );
    }
}

// ---- One case per rendering deviation that changes output (D-17 renders nothing: see the test above). ----

#[test]
fn deviation_d01_typed_rendering() {
    let mut b = vllm("b");
    b["modelURI"] = json!("hf://org/${MODEL_NAME}");
    b["env"] = json!([{"name": "GREETING", "value": "${MODEL_NAME}"}, {"name": "RUNTIME_PORT", "value": "9000"}]);
    b["workers"][0]["config"] = json!({"chat-template": "${MODEL_NAME}"});
    snapshot_json("deviation-d01-typed-rendering", &model(json!([b])));
}

#[test]
fn deviation_d02_flags() {
    let mut b = vllm("b");
    b["workers"][0]["config"] = json!({
        "enforce-eager": true, "disable-log-stats": false, "seed": null, "max-num-batched-tokens": 1_000_000,
        "gpu-memory-utilization": 0.9, "kv-cache-memory-bytes": 21_474_836_470_i64, "swap-space": 2.50,
        "hf-overrides": {"rope_scaling": {"type": "yarn", "factor": 4}}, "allowed-local-media-path": "",
        "middleware": ["a", "b"], "max_model_len": 32768,
    });
    snapshot_json("deviation-d02-flags", &model(json!([b])));
}

#[test]
fn deviation_d03_multi_node_command() {
    let mut b = vllm("b");
    b["workers"][0]["pods"] = json!(3);
    b["workers"][0]["resources"] = json!({"limits": {"huawei.com/ascend-910c": "4", "huawei.com/ascend-1980": "4"}});
    b["workers"][0]["config"] = json!({"served-model-name": "it's mine", "hf-overrides": {"type": "yarn", "factor": 4}, "trust-remote-code": ""});
    b["loraAdapters"] = json!([{"name": "sql", "artifactURL": "s3://bucket/lora-a"}]);
    snapshot_json("deviation-d03-multi-node-command", &model(json!([b])));
}

#[test]
fn deviation_d04_served_model_name() {
    let mut input = model(json!([vllm("b"), sglang("s")]));
    input["spec"]["name"] = json!("served");
    snapshot_json("deviation-d04-served-model-name", &input);
}

#[test]
fn deviation_d05_owner_references() {
    let mut b = vllm("b");
    b["scalingCost"] = json!(2);
    let mut c = vllm("c");
    c["scalingCost"] = json!(1);
    let mut input = model(json!([b, c]));
    input["spec"]["autoscalingPolicy"] = policy();
    snapshot_json("deviation-d05-owner-references", &input);
}

#[test]
fn deviation_d06_pod_template_labels() {
    let mut b = vllm("b");
    b["workers"][0]["pods"] = json!(2);
    snapshot_json("deviation-d06-pod-template-labels", &model(json!([b, pd("c", gpu(), gpu())])));
}

#[test]
fn deviation_d07_model_server_selector() {
    let mut b = vllm("b");
    b["routeWeight"] = json!(80);
    let mut s = sglang("s");
    s["routeWeight"] = json!(20);
    snapshot_json("deviation-d07-model-server-selector", &model(json!([b, s])));
}

#[test]
fn deviation_d08_topology_spread() {
    snapshot_json("deviation-d08-topology-spread", &model(json!([vllm("b")])));
}

#[test]
fn deviation_d09_cache_paths() {
    let lora = json!([{"name": "la", "artifactURL": "s3://bucket/lora-a"}]);
    let mut b = vllm("b");
    b["loraAdapters"] = lora.clone();
    let mut c = vllm("c");
    c["cacheURI"] = json!("pvc://claim");
    c["loraAdapters"] = lora.clone();
    let mut d = vllm("d");
    d["cacheURI"] = json!("hostpath:///mnt/cache/");
    d["loraAdapters"] = lora;
    snapshot_json("deviation-d09-cache-paths", &model(json!([b, c, d])));
}

#[test]
fn deviation_d10_replicas_and_pods() {
    let mut b = vllm("b");
    b["workers"][0] = json!({"image": common::VLLM_IMAGE});
    let mut c = vllm("c");
    c["workers"][0]["replicas"] = json!(0);
    c["workers"][0]["pods"] = json!(0);
    snapshot_json("deviation-d10-replicas-and-pods", &model(json!([b, c])));
}

#[test]
fn deviation_d11_accelerator_awareness() {
    let mut v = vllm("v");
    v["workers"][0]["resources"] = ascend();
    snapshot_json(
        "deviation-d11-accelerator-awareness",
        &model(json!([pd("a", ascend(), ascend()), pd("g", gpu(), gpu()), v])),
    );
}

#[test]
fn deviation_d12_worker_affinity() {
    let anti = json!({"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
        "topologyKey": "kubernetes.io/hostname",
        "labelSelector": {"matchLabels": {"workload.serving.volcano.sh/backend-name": "b"}},
    }}]});
    let node = json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "node.kubernetes.io/npu.chip.name", "operator": "In", "values": ["Ascend910B"]}
    ]}]}});
    let mut b = vllm("b");
    b["workers"][0]["pods"] = json!(2);
    b["workers"][0]["affinity"] = json!({"podAntiAffinity": anti});
    let mut c = pd("c", ascend(), ascend());
    c["workers"][0]["affinity"] = json!({"nodeAffinity": node});
    c["workers"][1]["affinity"] = json!({"podAntiAffinity": anti});
    snapshot_json("deviation-d12-worker-affinity", &model(json!([b, c])));
}

#[test]
fn deviation_d13_kv_transfer_kept_as_given() {
    let mut c = pd("c", cpu_only(), cpu_only());
    c["workers"][0]["config"] =
        json!({"kv-transfer-config": "{\"kv_connector\": \"NixlConnector\", \"kv_role\": \"kv_producer\"}"});
    c["workers"][1]["config"] =
        json!({"kv_transfer_config": {"kv_role": "kv_consumer", "kv_connector": "NixlConnector"}});
    snapshot_json("deviation-d13-kv-transfer-kept-as-given", &model(json!([c])));
}

#[test]
fn deviation_d13_kv_transfer_generated() {
    let mut a = pd("a", ascend(), ascend());
    a["workers"][0]["config"] = json!({"tensor-parallel-size": 2, "data-parallel-size": 2});
    a["workers"][1]["config"] = json!({"tensor-parallel-size": 4});
    snapshot_json("deviation-d13-kv-transfer-generated", &model(json!([a, pd("g", gpu(), gpu())])));
}

#[test]
fn deviation_d14_user_env_wins() {
    let env = json!([
        {"name": "VLLM_USE_V1", "value": "0"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "HCCL_IF_IP", "value": "10.0.0.1"},
    ]);
    let mut b = vllm("b");
    b["env"] = env.clone();
    let mut c = pd("c", ascend(), ascend());
    c["env"] = env;
    snapshot_json("deviation-d14-user-env-wins", &model(json!([b, c])));
}

#[test]
fn deviation_d15_revision() {
    let mut b = vllm("b");
    b["minReplicas"] = json!(1);
    b["maxReplicas"] = json!(3);
    b["autoscalingPolicy"] = policy();
    snapshot_json("deviation-d15-revision", &model(json!([b])));
    // Same revisions with other replica bounds (only spec.replicas and the binding follow).
    let mut b = vllm("b");
    b["minReplicas"] = json!(2);
    b["maxReplicas"] = json!(5);
    b["autoscalingPolicy"] = policy();
    snapshot_json("deviation-d15-revision-other-bounds", &model(json!([b])));
}

#[test]
fn deviation_d16_sglang() {
    let mut s = sglang("s");
    s["env"] = json!([{"name": "HF_ENDPOINT", "value": "https://hf-mirror.com"}]);
    s["workers"][0]["resources"] = gpu();
    s["workers"][0]["config"] = json!({"tp-size": 1, "mem-fraction-static": 0.85, "enable-torch-compile": true});
    snapshot_json("deviation-d16-sglang", &model(json!([s])));
}

#[test]
fn deviation_d18_images() {
    let mut b = vllm("b");
    b["loraAdapters"] = json!([{"name": "la", "artifactURL": "s3://bucket/lora-a"}]);
    let settings = Settings {
        downloader_image: "registry.example.com/kthena/downloader:v0.1.0".into(),
        runtime_image: "registry.example.com/kthena/runtime:v0.1.0".into(),
    };
    let children = render_values_with(&booster_json(&model(json!([b]))), &settings).expect("renders");
    insta::assert_yaml_snapshot!("deviation-d18-images", children);
}

#[test]
fn deviation_d19_metric_endpoint() {
    let mut b = vllm("b");
    b["env"] = json!([{"name": "RUNTIME_PORT", "value": "9100"}]);
    b["autoscalingPolicy"] = policy();
    let mut c = vllm("c");
    c["autoscalingPolicy"] = policy();
    snapshot_json("deviation-d19-metric-endpoint", &model(json!([b, c])));
}

#[test]
fn deviation_d20_cost_expansion_rate_default() {
    let mut b = vllm("b");
    b["scalingCost"] = json!(5);
    let mut c = vllm("c");
    c["minReplicas"] = json!(0);
    let mut input = model(json!([b, c]));
    input["spec"]["autoscalingPolicy"] = policy();
    snapshot_json("deviation-d20-cost-expansion-rate-default", &input);
    input["spec"]["costExpansionRatePercent"] = json!(0);
    snapshot_json("deviation-d20-cost-expansion-rate-zero", &input);
}
