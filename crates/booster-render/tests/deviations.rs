//! One test per rendering deviation D-1 … D-20 of the spec (§4), named after it, plus the render-time errors and
//! the render order of §4.1 and the determinism of `render`. Inputs are small inline ModelBoosters; every expected
//! value is written from the spec (and the reference behaviour it keeps), not taken from the renderer's output.

mod common;

use booster_render::{Settings, render};
use common::{
    MODEL_URI, SGLANG_IMAGE, VLLM_IMAGE, ascend, booster_json, cpu_only, gpu, model, pd, policy, reference_dir,
    render_values, render_values_with, sglang, strict_model_booster, vllm,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const API: &str = "workload.serving.volcano.sh/v1alpha1";
/// Model directory of `MODEL_URI` with the default (emptyDir) cache: `/models-cache/` + md5hex(`hf://org/model`).
const MD: &str = "/models-cache/7d13ed142997ab6b7db5a77ec8c9e194";
/// md5hex(`s3://bucket/lora-a`).
const LORA_A_MD5: &str = "23494f2375c9112b741fd88791f0f3ed";
/// md5hex(`s3://bucket/lora-b`).
const LORA_B_MD5: &str = "5deb73bdebc6a3d2a7a1744c5ae84e46";
const KV_EVENTS: &str =
    r#"{"enable_kv_cache_events":true,"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}"#;
const MULTI_NODE_SCRIPT: &str = "/vllm-workspace/vllm/examples/online_serving/multi-node-serving.sh";
const REVISION: &str = "workload.serving.volcano.sh/revision";
const V41: &str =
    "cacheURI must be pvc://<claim-name> or hostpath://<absolute-path> (for example hostpath:///mnt/cache)";

// ---------------------------------------------------------------------------------------------------------
// Inputs (the builders are in common: `model`, `vllm`, `sglang`, `pd`, `gpu`, `ascend`, `cpu_only`, `policy`)

fn render_model(input: &Value) -> Vec<Value> {
    render_values(&booster_json(input))
}

fn render_error(input: &Value) -> String {
    match render(&booster_json(input), &Settings::default()) {
        Ok(_) => panic!("expected a render error for {input}"),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Accessors

fn of_kind<'a>(children: &'a [Value], kind: &str) -> Vec<&'a Value> {
    children.iter().filter(|c| c["kind"] == kind).collect()
}

fn first<'a>(children: &'a [Value], kind: &str) -> &'a Value {
    of_kind(children, kind).into_iter().next().unwrap_or_else(|| panic!("no {kind}"))
}

fn named<'a>(children: &'a [Value], kind: &str, name: &str) -> &'a Value {
    common::child(children, kind, name)
}

fn role<'a>(serving: &'a Value, name: &str) -> &'a Value {
    serving["spec"]["template"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no role {name}"))
}

fn container<'a>(template: &'a Value, name: &str) -> &'a Value {
    template["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name} in {template}"))
}

fn entry<'a>(serving: &'a Value, role_name: &str) -> &'a Value {
    &role(serving, role_name)["entryTemplate"]
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_else(|| panic!("not a string: {s}")).to_owned())
        .collect()
}

/// Engine command of a vLLM or SGLang backend's leader.
fn engine_command(serving: &Value) -> Vec<String> {
    strings(&container(entry(serving, "leader"), "engine")["command"])
}

/// Engine command of a PD role.
fn pd_command(serving: &Value, role_name: &str) -> Vec<String> {
    strings(&container(entry(serving, role_name), "vllm")["command"])
}

fn env_names(container: &Value) -> Vec<String> {
    container["env"]
        .as_array()
        .map(|env| env.iter().map(|e| e["name"].as_str().expect("env name").to_owned()).collect())
        .unwrap_or_default()
}

fn env<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_array()
        .expect("env")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no env {name} in {}", container["name"]))
}

/// Every pod template (entry and worker) of every role of a ModelServing.
fn pod_templates(serving: &Value) -> Vec<&Value> {
    let mut templates = Vec::new();
    for role in serving["spec"]["template"]["roles"].as_array().expect("roles") {
        for key in ["entryTemplate", "workerTemplate"] {
            if let Some(template) = role.get(key) {
                templates.push(template);
            }
        }
    }
    templates
}

/// Every container and init container of every pod template of a ModelServing.
fn all_containers(serving: &Value) -> Vec<&Value> {
    let mut containers = Vec::new();
    for template in pod_templates(serving) {
        for key in ["initContainers", "containers"] {
            containers.extend(template["spec"][key].as_array().into_iter().flatten());
        }
    }
    containers
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|&i| i.to_owned()).collect()
}

/// The single-node vLLM command of §4.6 with the given flags and no LoRA.
fn vllm_command(flags: &[&str]) -> Vec<String> {
    let mut command = s(&["python", "-m", "vllm.entrypoints.openai.api_server", "--model", MD]);
    command.extend(s(flags));
    command.extend(s(&["--kv-events-config", KV_EVENTS]));
    command
}

/// The engine env of §4.4 for a backend without env: the standard list, then the role extras.
fn standard_env_names(extras: &[&str]) -> Vec<String> {
    let mut names = s(&["POD_NAME", "NAMESPACE", "VLLM_USE_V1", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"]);
    names.extend(s(extras));
    names
}

fn ascend_node_affinity() -> Value {
    json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "node.kubernetes.io/npu.chip.name", "operator": "In", "values": ["Ascend910"]}
    ]}]}})
}

fn five_labels(backend: &str, revision: &Value) -> Value {
    json!({
        "workload.serving.volcano.sh/model-name": "m",
        "workload.serving.volcano.sh/backend-name": backend,
        "workload.serving.volcano.sh/managed-by": "workload.serving.volcano.sh",
        "workload.serving.volcano.sh/revision": revision,
        "workload.serving.volcano.sh/model-uid": "uid-1",
    })
}

/// D-15, computed independently: first 10 hex characters of SHA-256 over the canonical JSON of `spec`.
fn revision_of_spec(spec: &Value) -> String {
    // serde_json::Value keeps object keys in a BTreeMap (byte order) and writes compact JSON.
    let canonical = serde_json::to_string(spec).expect("JSON");
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect::<String>()[..10].to_owned()
}

fn revision(child: &Value) -> &str {
    child["metadata"]["labels"][REVISION].as_str().expect("revision label")
}

// ---------------------------------------------------------------------------------------------------------
// D-1 … D-20

#[test]
fn d01_typed_rendering_keeps_dollar_braces_verbatim() {
    let mut b = vllm("b");
    b["modelURI"] = json!("hf://org/${MODEL_NAME}");
    b["env"] = json!([
        {"name": "GREETING", "value": "${MODEL_NAME}"},
        {"name": "BROKEN", "value": "${unclosed"},
        {"name": "RUNTIME_PORT", "value": "9000"},
        {"name": "RUNTIME_URL", "value": "http://${ENGINE_HOST}:8000"},
    ]);
    b["workers"][0]["pods"] = json!(2);
    b["workers"][0]["image"] = json!("registry.example.com/vllm:${TAG}");
    b["workers"][0]["config"] = json!({"chat-template": "${MODEL_NAME}"});
    b["loraAdapters"] = json!([{"name": "l", "artifactURL": "s3://bucket/${NOT_A_KEY}"}]);
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    let leader = entry(serving, "leader");

    for c in [
        container(leader, "runtime"),
        container(leader, "engine"),
        container(&role(serving, "leader")["workerTemplate"], "b-vllm-worker"),
    ] {
        assert_eq!(env(c, "GREETING")["value"], "${MODEL_NAME}", "{}", c["name"]);
        assert_eq!(env(c, "BROKEN")["value"], "${unclosed", "{}", c["name"]);
    }
    let init = leader["spec"]["initContainers"].as_array().expect("init containers");
    // md5hex("hf://org/${MODEL_NAME}") = f96fcf7731671c25870f4136246003dc
    assert_eq!(
        strings(&init[0]["args"]),
        s(&["--source", "hf://org/${MODEL_NAME}", "--output-dir", "/models-cache/f96fcf7731671c25870f4136246003dc"])
    );
    assert_eq!(strings(&init[1]["args"])[1], "s3://bucket/${NOT_A_KEY}");
    assert_eq!(container(leader, "engine")["image"], "registry.example.com/vllm:${TAG}");
    assert_eq!(
        container(&role(serving, "leader")["workerTemplate"], "b-vllm-worker")["image"],
        "registry.example.com/vllm:${TAG}"
    );
    assert_eq!(
        strings(&container(leader, "runtime")["args"])[4..6],
        s(&["--engine-base-url", "http://${ENGINE_HOST}:8000"])[..]
    );
    let command = engine_command(serving);
    assert_eq!(command.len(), 3);
    assert!(command[2].contains(" --chat-template '${MODEL_NAME}' "), "{}", command[2]);

    // `--port` is the decimal string; containerPort and the probe port are integers.
    let runtime = container(leader, "runtime");
    assert_eq!(runtime["args"][0], json!("--port"));
    assert_eq!(runtime["args"][1], json!("9000"));
    assert_eq!(runtime["ports"], json!([{"containerPort": 9000}]));
    assert_eq!(runtime["readinessProbe"]["httpGet"]["port"], json!(9000));

    let children = render_model(&model(json!([vllm("b")])));
    let runtime = container(entry(first(&children, "ModelServing"), "leader"), "runtime");
    assert_eq!(
        strings(&runtime["args"]),
        s(&[
            "--port",
            "8100",
            "--engine",
            "vllm",
            "--engine-base-url",
            "http://localhost:8000",
            "--engine-metrics-path",
            "/metrics",
            "--pod",
            "$(POD_NAME).$(NAMESPACE)",
            "--model",
            "m",
        ])
    );
    assert_eq!(runtime["ports"], json!([{"containerPort": 8100}]));
    assert_eq!(runtime["readinessProbe"]["httpGet"]["port"], json!(8100));
}

#[test]
fn d02_config_values_render_as_engine_flags() {
    let mut b = vllm("b");
    b["workers"][0]["config"] = json!({
        "Upper": "u",
        "a-empty": "",
        "b-string": "two words",
        "c-true": true,
        "d-false": false,
        "e-null": null,
        "f-int": 1_000_000,
        "g-neg": -1_000_000,
        "h-big": 21_474_836_470_i64,
        "i-u64": u64::MAX,
        "j-above-2-pow-53": 9_007_199_254_740_993_u64,
        "k-float": 0.9,
        "l-small": 0.00001,
        "l2-tiny": 1e-7,
        "m-one": 1.0,
        "maxModelLen": 5,
        "n-half": 2.50,
        "o-huge": 1e21,
        "p-object": {"b": [true, "x"], "a": 1},
        "q-array": [1, "a", true],
        "r_under_score": "v",
    });
    let children = render_model(&model(json!([b])));
    assert_eq!(
        engine_command(first(&children, "ModelServing")),
        vllm_command(&[
            "--Upper",
            "u",
            "--a-empty",
            "--b-string",
            "two words",
            "--c-true",
            "--f-int",
            "1000000",
            "--g-neg",
            "-1000000",
            "--h-big",
            "21474836470",
            "--i-u64",
            "18446744073709551615",
            "--j-above-2-pow-53",
            "9007199254740993",
            "--k-float",
            "0.9",
            "--l-small",
            "0.00001",
            "--l2-tiny",
            "0.0000001",
            "--m-one",
            "1",
            "--maxModelLen",
            "5",
            "--n-half",
            "2.5",
            "--o-huge",
            "1000000000000000000000",
            "--p-object",
            r#"{"a":1,"b":[true,"x"]}"#,
            "--q-array",
            r#"[1,"a",true]"#,
            "--r-under-score",
            "v",
            "--served-model-name",
            "m",
        ])
    );
}

#[test]
fn d03_multi_node_command_is_one_quoted_bash_script() {
    let mut b = vllm("b");
    b["workers"][0]["pods"] = json!(3);
    b["workers"][0]["config"] = json!({
        "tensor-parallel-size": 8,
        "hf-overrides": {"type": "yarn", "factor": 4},
        "served-model-name": "it's mine",
        "trust-remote-code": "",
        "chat-template-content-format": " ",
        "tokenizer": "modèle",
    });
    // devices: ascend-1980 request 1500m → 2 (the request wins over the limit 4), ascend-310p limit 2,
    // nvidia.com/gpu limit 1 → 5. cpu and memory do not count.
    b["workers"][0]["resources"] = json!({
        "requests": {"cpu": "4", "huawei.com/ascend-1980": "1500m"},
        "limits": {"memory": "1Gi", "huawei.com/ascend-1980": "4", "huawei.com/ascend-310p": "2", "nvidia.com/gpu": "1"},
    });
    b["loraAdapters"] = json!([{"name": "sql", "artifactURL": "s3://bucket/lora-a"}]);
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    let expected = format!(
        "chmod u+x {MULTI_NODE_SCRIPT} && {MULTI_NODE_SCRIPT} leader --ray_cluster_size=3 --num-gpus=5 && \
         python -m vllm.entrypoints.openai.api_server --model {MD} \
         --chat-template-content-format ' ' --hf-overrides '{{\"factor\":4,\"type\":\"yarn\"}}' \
         --served-model-name 'it'\"'\"'s mine' \
         --tensor-parallel-size 8 --tokenizer 'modèle' --trust-remote-code --distributed_executor_backend ray \
         --kv-events-config '{KV_EVENTS}' --enable-lora --lora-modules sql=/models-cache/{LORA_A_MD5}"
    );
    assert_eq!(engine_command(serving), vec!["bash".to_owned(), "-c".to_owned(), expected]);
    assert_eq!(role(serving, "leader")["workerReplicas"], json!(2));
    let worker = container(&role(serving, "leader")["workerTemplate"], "b-vllm-worker");
    assert_eq!(
        strings(&worker["command"]),
        vec![
            "bash".to_owned(),
            "-c".to_owned(),
            format!("chmod u+x {MULTI_NODE_SCRIPT} && {MULTI_NODE_SCRIPT} worker --ray_address=$(ENTRY_ADDRESS)"),
        ]
    );

    // Limits only, every huawei.com/ascend-* counts: 3 + 2; other accelerators do not.
    let mut b = vllm("b");
    b["workers"][0]["pods"] = json!(2);
    b["workers"][0]["resources"] = json!({"limits": {
        "huawei.com/ascend-910c": "3", "huawei.com/ascend-1980": "2", "huawei.com/ascend": "7", "amd.com/gpu": "4",
    }});
    let command = engine_command(first(&render_model(&model(json!([b]))), "ModelServing"));
    assert_eq!(command.len(), 3);
    assert!(command[2].contains(" leader --ray_cluster_size=2 --num-gpus=5 && "), "{}", command[2]);

    // Prefill/decode commands are never ray-wrapped, whatever `pods` or an extra server worker say.
    let mut c = pd("c", gpu(), gpu());
    c["workers"][0]["pods"] = json!(2);
    c["workers"][1]["pods"] = json!(3);
    c["workers"].as_array_mut().expect("workers").push(json!({"type": "server", "image": VLLM_IMAGE, "pods": 2}));
    let children = render_model(&model(json!([c])));
    let serving = first(&children, "ModelServing");
    for name in ["prefill", "decode"] {
        let command = pd_command(serving, name);
        assert_eq!(command[..5], s(&["python", "-m", "vllm.entrypoints.openai.api_server", "--model", MD])[..]);
        assert_eq!(role(serving, name)["workerReplicas"], json!(0));
    }

    // The reference fixture: the script ends as spec §4.6 says.
    let text = std::fs::read_to_string(reference_dir().join("convert/input/model.yaml")).expect("fixture");
    let children = render_values(&strict_model_booster(&text));
    let command = engine_command(first(&children, "ModelServing"));
    assert_eq!(command.len(), 3);
    assert!(
        command[2].ends_with(
            r#" --trust-remote-code --distributed_executor_backend ray --kv-events-config '{"enable_kv_cache_events":true,"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}' --enable-lora --lora-modules lora-sql=/tmp/test/11e9a15be1e19ff056520bf67eaeb688"#
        ),
        "{}",
        command[2]
    );
}

#[test]
fn d04_served_model_name_defaults_to_spec_name_then_metadata_name() {
    // No config, no spec.name: metadata.name.
    let children = render_model(&model(json!([vllm("b")])));
    assert_eq!(engine_command(first(&children, "ModelServing")), vllm_command(&["--served-model-name", "m"]));
    assert_eq!(first(&children, "ModelServer")["spec"]["model"], "m");

    // No config, spec.name set: spec.name, for vLLM and SGLang.
    let mut input = model(json!([vllm("b"), sglang("s")]));
    input["spec"]["name"] = json!("served");
    let children = render_model(&input);
    assert_eq!(
        engine_command(named(&children, "ModelServing", "m-b")),
        vllm_command(&["--served-model-name", "served"])
    );
    assert_eq!(
        engine_command(named(&children, "ModelServing", "m-s"))[10..],
        s(&["--served-model-name", "served"])[..]
    );
    for name in ["m-b", "m-s"] {
        assert_eq!(named(&children, "ModelServer", name)["spec"]["model"], "served");
    }

    // The underscore spelling counts as present: not added a second time.
    let mut b = vllm("b");
    b["workers"][0]["config"] = json!({"served_model_name": "x"});
    let mut input = model(json!([b]));
    input["spec"]["name"] = json!("served");
    let children = render_model(&input);
    assert_eq!(engine_command(first(&children, "ModelServing")), vllm_command(&["--served-model-name", "x"]));
    assert_eq!(first(&children, "ModelServer")["spec"]["model"], "x");

    // PD: the ModelServer announces the decode worker's name; each role serves its own.
    let mut b = pd("b", gpu(), gpu());
    b["workers"][0]["config"] = json!({"served-model-name": "p"});
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    let prefill = pd_command(serving, "prefill");
    let decode = pd_command(serving, "decode");
    assert_eq!(prefill.iter().filter(|a| *a == "--served-model-name").count(), 1);
    assert!(prefill.windows(2).any(|w| w == ["--served-model-name", "p"]), "{prefill:?}");
    assert!(decode.windows(2).any(|w| w == ["--served-model-name", "m"]), "{decode:?}");
    assert_eq!(first(&children, "ModelServer")["spec"]["model"], "m");
}

#[test]
fn d05_every_child_has_one_controller_owner_reference() {
    let expected = json!([{
        "apiVersion": API, "kind": "ModelBooster", "name": "m", "uid": "uid-1",
        "controller": true, "blockOwnerDeletion": true,
    }]);
    // Model-level autoscaling.
    let mut input = model(json!([vllm("b"), pd("c", ascend(), ascend())]));
    input["spec"]["autoscalingPolicy"] = policy();
    let model_level = render_model(&input);
    // Backend-level autoscaling.
    let mut b = vllm("b");
    b["autoscalingPolicy"] = policy();
    let backend_level = render_model(&model(json!([b, sglang("s")])));
    let mut kinds = Vec::new();
    for child in model_level.iter().chain(&backend_level) {
        assert_eq!(child["metadata"]["ownerReferences"], expected, "{} {}", child["kind"], child["metadata"]["name"]);
        kinds.push(child["kind"].as_str().expect("kind"));
    }
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds, ["AutoscalingPolicy", "AutoscalingPolicyBinding", "ModelRoute", "ModelServer", "ModelServing"]);
}

#[test]
fn d06_every_pod_template_carries_the_five_labels() {
    let mut multi_node = vllm("b");
    multi_node["workers"][0]["pods"] = json!(2);
    let children = render_model(&model(json!([multi_node, pd("c", gpu(), gpu()), sglang("s")])));
    let servings = of_kind(&children, "ModelServing");
    assert_eq!(servings.len(), 3);
    for (serving, backend, templates) in [(servings[0], "b", 2), (servings[1], "c", 4), (servings[2], "s", 1)] {
        let labels = &serving["metadata"]["labels"];
        let revision = &labels[REVISION];
        assert!(revision.as_str().is_some_and(|r| r.len() == 10), "{revision}");
        assert_eq!(*labels, five_labels(backend, revision));
        let pod_templates = pod_templates(serving);
        assert_eq!(pod_templates.len(), templates, "{backend}");
        for template in pod_templates {
            assert_eq!(template["metadata"], json!({"labels": labels}), "{backend}");
        }
    }
    // No annotations anywhere, on any child.
    for child in &children {
        assert!(!serde_json::to_string(child).expect("JSON").contains("\"annotations\""), "{}", child["kind"]);
    }
}

#[test]
fn d07_model_server_selects_the_backends_own_pods() {
    let children = render_model(&model(json!([vllm("b"), pd("c", ascend(), ascend())])));
    for backend in ["b", "c"] {
        let server = named(&children, "ModelServer", &format!("m-{backend}"));
        assert_eq!(
            server["spec"]["workloadSelector"]["matchLabels"],
            json!({"workload.serving.volcano.sh/model-uid": "uid-1", "workload.serving.volcano.sh/backend-name": backend})
        );
    }
    let pd_server = named(&children, "ModelServer", "m-c");
    assert_eq!(
        pd_server["spec"]["workloadSelector"]["pdGroup"],
        json!({
            "groupKey": "modelserving.volcano.sh/group-name",
            "prefillLabels": {"modelserving.volcano.sh/role": "prefill"},
            "decodeLabels": {"modelserving.volcano.sh/role": "decode"},
        })
    );
    assert!(named(&children, "ModelServer", "m-b")["spec"]["workloadSelector"].get("pdGroup").is_none());
}

#[test]
fn d08_topology_spread_selects_the_model_serving_name() {
    let children = render_model(&model(json!([vllm("b"), sglang("s"), pd("c", gpu(), gpu())])));
    for name in ["m-b", "m-s"] {
        assert_eq!(
            named(&children, "ModelServing", name)["spec"]["topologySpreadConstraints"],
            json!([{
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"modelserving.volcano.sh/name": name}},
            }])
        );
    }
    assert!(named(&children, "ModelServing", "m-c")["spec"].get("topologySpreadConstraints").is_none());
}

/// Every volume mount, the volume, the model directory and the LoRA directories of one backend's ModelServing.
fn check_cache(cache_uri: Option<&str>, volume: Value, root: &str) {
    let mut b = vllm("b");
    b["workers"][0]["pods"] = json!(2);
    b["loraAdapters"] = json!([
        {"name": "la", "artifactURL": "s3://bucket/lora-a"},
        {"name": "lb", "artifactURL": "s3://bucket/lora-b"},
    ]);
    if let Some(uri) = cache_uri {
        b["cacheURI"] = json!(uri);
    }
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    let md5 = "7d13ed142997ab6b7db5a77ec8c9e194";
    let model_dir = format!("{root}/{md5}");
    for template in pod_templates(serving) {
        assert_eq!(template["spec"]["volumes"], json!([volume]), "{cache_uri:?}");
    }
    let mut mounts = 0;
    for c in all_containers(serving) {
        if let Some(list) = c.get("volumeMounts") {
            assert_eq!(*list, json!([{"name": "b-weights", "mountPath": root}]), "{cache_uri:?} {}", c["name"]);
            mounts += 1;
        }
    }
    // entry: 3 init containers + engine; worker: 3 init containers + worker container.
    assert_eq!(mounts, 8, "{cache_uri:?}");
    let init = entry(serving, "leader")["spec"]["initContainers"].as_array().expect("init containers");
    assert_eq!(strings(&init[0]["args"]), s(&["--source", MODEL_URI, "--output-dir", &model_dir]));
    assert_eq!(strings(&init[1]["args"])[3], format!("{root}/{LORA_A_MD5}"));
    assert_eq!(strings(&init[2]["args"])[3], format!("{root}/{LORA_B_MD5}"));
    let script = &engine_command(serving)[2];
    assert!(script.contains(&format!(" --model {model_dir} ")), "{script}");
    assert!(script.ends_with(&format!(" --lora-modules la={root}/{LORA_A_MD5} lb={root}/{LORA_B_MD5}")), "{script}");
    // No path contains `//` (URLs aside).
    let text = serde_json::to_string(serving).expect("JSON").replace("://", "");
    assert!(!text.contains("//"), "{cache_uri:?}: {text}");
}

#[test]
fn d09_cache_volume_paths_are_absolute_and_clean() {
    check_cache(None, json!({"name": "b-weights", "emptyDir": {}}), "/models-cache");
    check_cache(
        Some("pvc://claim"),
        json!({"name": "b-weights", "persistentVolumeClaim": {"claimName": "claim"}}),
        "/claim",
    );
    check_cache(
        Some("pvc://model-cache.team-a"),
        json!({"name": "b-weights", "persistentVolumeClaim": {"claimName": "model-cache.team-a"}}),
        "/model-cache.team-a",
    );
    check_cache(
        Some("hostpath:///mnt/cache/"),
        json!({"name": "b-weights", "hostPath": {"path": "/mnt/cache", "type": "DirectoryOrCreate"}}),
        "/mnt/cache",
    );
    check_cache(
        Some("hostpath:///mnt/models/cache"),
        json!({"name": "b-weights", "hostPath": {"path": "/mnt/models/cache", "type": "DirectoryOrCreate"}}),
        "/mnt/models/cache",
    );
    // URIs that fail V-41 do not render.
    for uri in ["hostpath://tmp/test", "hostpath:///", "hostpath:///a//b", "pvc://a/b", "hostPath://x"] {
        let mut b = vllm("b");
        b["cacheURI"] = json!(uri);
        assert_eq!(render_error(&model(json!([b]))), format!("spec.backends[0].cacheURI: {V41}"), "{uri}");
    }
}

#[test]
fn d10_replicas_and_pods_default_to_one() {
    // Omitted replicas and pods: the CRD defaults 1 and 1.
    let mut b = vllm("b");
    b["minReplicas"] = json!(2);
    b["maxReplicas"] = json!(5);
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    assert_eq!(serving["spec"]["replicas"], json!(2));
    assert_eq!(serving["spec"]["template"]["gangPolicy"], json!({"minRoleReplicas": {"leader": 1}}));
    assert_eq!(role(serving, "leader")["replicas"], json!(1));
    assert_eq!(role(serving, "leader")["workerReplicas"], json!(0));
    assert!(role(serving, "leader").get("workerTemplate").is_some(), "vLLM always has a worker template");

    // workerReplicas = max(pods, 1) - 1; an explicit replicas: 0 is kept.
    for (replicas, pods, worker_replicas) in [(0, 0, 0), (3, 1, 0), (1, 4, 3)] {
        let mut b = vllm("b");
        b["workers"][0]["replicas"] = json!(replicas);
        b["workers"][0]["pods"] = json!(pods);
        let children = render_model(&model(json!([b])));
        let serving = first(&children, "ModelServing");
        assert_eq!(serving["spec"]["template"]["gangPolicy"]["minRoleReplicas"], json!({"leader": replicas}));
        assert_eq!(role(serving, "leader")["replicas"], json!(replicas));
        assert_eq!(role(serving, "leader")["workerReplicas"], json!(worker_replicas), "pods {pods}");
        // Multi-node (a `bash -c` script) exactly when pods > 1.
        assert_eq!(engine_command(serving)[0], if pods > 1 { "bash" } else { "python" }, "pods {pods}");
    }

    // PD: omitted replicas are 1; prefill replicas 2 is its own gang minimum.
    let mut b = pd("c", gpu(), gpu());
    b["workers"][0]["replicas"] = json!(2);
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    assert_eq!(serving["spec"]["template"]["gangPolicy"], json!({"minRoleReplicas": {"prefill": 2, "decode": 1}}));
    for (name, replicas) in [("prefill", 2), ("decode", 1)] {
        assert_eq!(role(serving, name)["replicas"], json!(replicas));
        assert_eq!(role(serving, name)["workerReplicas"], json!(0));
    }
}

#[test]
fn d11_ascend_settings_only_on_ascend_prefill_decode_roles() {
    let hccl_prefill = json!({"name": "HCCL_IF_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}});
    let eth0 = |name: &str| json!({"name": name, "value": "eth0"});

    // Ascend PD, generated KV config: node affinity and the role's HCCL env, on both containers of each role.
    let children = render_model(&model(json!([pd("c", ascend(), ascend())])));
    let serving = first(&children, "ModelServing");
    for name in ["prefill", "decode"] {
        assert_eq!(entry(serving, name)["spec"]["affinity"], json!({"nodeAffinity": ascend_node_affinity()}));
    }
    for c in ["runtime", "vllm"] {
        let prefill = container(entry(serving, "prefill"), c);
        assert_eq!(env_names(prefill), standard_env_names(&["HF_HUB_OFFLINE", "HCCL_IF_IP"]));
        assert_eq!(*env(prefill, "HCCL_IF_IP"), hccl_prefill);
        assert_eq!(env(prefill, "HF_HUB_OFFLINE")["value"], "1");
        let decode = container(entry(serving, "decode"), c);
        assert_eq!(
            env_names(decode),
            standard_env_names(&["HF_HUB_OFFLINE", "GLOO_SOCKET_IFNAME", "TP_SOCKET_IFNAME", "HCCL_SOCKET_IFNAME"])
        );
        for name in ["GLOO_SOCKET_IFNAME", "TP_SOCKET_IFNAME", "HCCL_SOCKET_IFNAME"] {
            assert_eq!(*env(decode, name), eth0(name));
        }
    }

    // A limits-only request of any huawei.com/ascend-* resource is Ascend too.
    let limits_only = json!({"limits": {"huawei.com/ascend-310p": "1"}});
    let children = render_model(&model(json!([pd("c", limits_only.clone(), limits_only)])));
    let serving = first(&children, "ModelServing");
    assert_eq!(entry(serving, "decode")["spec"]["affinity"], json!({"nodeAffinity": ascend_node_affinity()}));

    // A worker requesting both kinds is Ascend; `huawei.com/ascend` without the dash is not.
    let both = json!({"limits": {"nvidia.com/gpu": "1", "huawei.com/ascend-1980": "1"}});
    let children = render_model(&model(json!([pd("c", both.clone(), both)])));
    let serving = first(&children, "ModelServing");
    assert_eq!(entry(serving, "prefill")["spec"]["affinity"], json!({"nodeAffinity": ascend_node_affinity()}));
    assert_eq!(pd_command(serving, "prefill")[6], mooncake("prefill", 1, 1, 1, 1));
    let not_ascend = json!({"limits": {"huawei.com/ascend": "1"}});
    assert!(
        render_error(&model(json!([pd("c", not_ascend.clone(), not_ascend)])))
            .contains("cannot generate kv-transfer-config")
    );

    // GPU PD: neither.
    let children = render_model(&model(json!([pd("c", gpu(), gpu())])));
    let serving = first(&children, "ModelServing");
    for name in ["prefill", "decode"] {
        assert!(entry(serving, name)["spec"].get("affinity").is_none(), "{name}");
        for c in ["runtime", "vllm"] {
            assert_eq!(env_names(container(entry(serving, name), c)), standard_env_names(&["HF_HUB_OFFLINE"]));
        }
    }

    // Mixed accelerators with a given KV config: only the Ascend role gets the Ascend settings.
    let mut b = pd("c", ascend(), gpu());
    b["workers"][0]["config"] =
        json!({"kv-transfer-config": {"kv_connector": "NixlConnector", "kv_role": "kv_producer"}});
    b["workers"][1]["config"] =
        json!({"kv-transfer-config": {"kv_connector": "NixlConnector", "kv_role": "kv_consumer"}});
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    assert_eq!(entry(serving, "prefill")["spec"]["affinity"], json!({"nodeAffinity": ascend_node_affinity()}));
    assert_eq!(
        env_names(container(entry(serving, "prefill"), "vllm")),
        standard_env_names(&["HF_HUB_OFFLINE", "HCCL_IF_IP"])
    );
    assert!(entry(serving, "decode")["spec"].get("affinity").is_none());
    assert_eq!(env_names(container(entry(serving, "decode"), "vllm")), standard_env_names(&["HF_HUB_OFFLINE"]));

    // No accelerator with a given KV config: neither.
    let mut b = pd("c", cpu_only(), cpu_only());
    b["workers"][0]["config"] = json!({"kv-transfer-config": "{\"kv_connector\":\"LMCacheConnectorV1\"}"});
    b["workers"][1]["config"] = json!({"kv-transfer-config": "{\"kv_connector\":\"LMCacheConnectorV1\"}"});
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    for name in ["prefill", "decode"] {
        assert!(entry(serving, name)["spec"].get("affinity").is_none(), "{name}");
        assert!(
            !env_names(container(entry(serving, name), "vllm"))
                .iter()
                .any(|n| n.contains("IFNAME") || n == "HCCL_IF_IP")
        );
    }

    // vLLM on Ascend: nothing accelerator-specific.
    let mut b = vllm("b");
    b["workers"][0]["resources"] = ascend();
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    for template in pod_templates(serving) {
        assert!(template["spec"].get("affinity").is_none());
    }
    assert_eq!(env_names(container(entry(serving, "leader"), "engine")), standard_env_names(&[]));

    // SGLang on Ascend: nothing accelerator-specific either.
    let mut b = sglang("s");
    b["workers"][0]["resources"] = ascend();
    let children = render_model(&model(json!([b])));
    let leader = entry(first(&children, "ModelServing"), "leader");
    assert!(leader["spec"].get("affinity").is_none());
    assert!(!env_names(container(leader, "engine")).iter().any(|n| n.starts_with("HCCL") || n.ends_with("IFNAME")));
}

#[test]
fn d12_worker_affinity_is_applied_to_its_roles_pods() {
    let user_node = json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-H100-80GB-HBM3"]}
    ]}]}});
    let anti = json!({"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
        "topologyKey": "kubernetes.io/hostname",
        "labelSelector": {"matchLabels": {"workload.serving.volcano.sh/backend-name": "b"}},
    }}]});
    let pod_affinity = json!({"requiredDuringSchedulingIgnoredDuringExecution": [{
        "topologyKey": "topology.kubernetes.io/zone",
        "labelSelector": {"matchLabels": {"app": "cache"}},
    }]});
    let full = json!({"nodeAffinity": user_node, "podAffinity": pod_affinity, "podAntiAffinity": anti});

    // vLLM: entry and worker template.
    let mut b = vllm("b");
    b["workers"][0]["pods"] = json!(2);
    b["workers"][0]["affinity"] = full.clone();
    let mut s_backend = sglang("s");
    s_backend["workers"][0]["affinity"] = full.clone();
    let children = render_model(&model(json!([b, s_backend, vllm("plain")])));
    let serving = named(&children, "ModelServing", "m-b");
    assert_eq!(entry(serving, "leader")["spec"]["affinity"], full);
    assert_eq!(role(serving, "leader")["workerTemplate"]["spec"]["affinity"], full);
    // SGLang: entry template.
    assert_eq!(entry(named(&children, "ModelServing", "m-s"), "leader")["spec"]["affinity"], full);
    // No affinity: omitted.
    for template in pod_templates(named(&children, "ModelServing", "m-plain")) {
        assert!(template["spec"].get("affinity").is_none());
    }

    // Ascend PD: the user's nodeAffinity replaces the generated one; without one, the generated node affinity is
    // added next to the user's pod (anti-)affinity.
    let mut b = pd("c", ascend(), ascend());
    b["workers"][0]["affinity"] = json!({"nodeAffinity": user_node, "podAntiAffinity": anti});
    b["workers"][1]["affinity"] = json!({"podAffinity": pod_affinity, "podAntiAffinity": anti});
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    assert_eq!(
        entry(serving, "prefill")["spec"]["affinity"],
        json!({"nodeAffinity": user_node, "podAntiAffinity": anti})
    );
    assert_eq!(
        entry(serving, "decode")["spec"]["affinity"],
        json!({"nodeAffinity": ascend_node_affinity(), "podAffinity": pod_affinity, "podAntiAffinity": anti})
    );

    // GPU PD: the user's affinity as given.
    let mut b = pd("c", gpu(), gpu());
    b["workers"][1]["affinity"] = json!({"podAntiAffinity": anti});
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    assert_eq!(entry(serving, "decode")["spec"]["affinity"], json!({"podAntiAffinity": anti}));
    assert!(entry(serving, "prefill")["spec"].get("affinity").is_none());
}

fn mooncake(role: &str, p_tp: u32, p_dp: u32, d_tp: u32, d_dp: u32) -> String {
    let (engine_id, port, rank, kv_role) =
        if role == "prefill" { ("0", "20001", 0, "kv_producer") } else { ("1", "20002", 1, "kv_consumer") };
    format!(
        r#"{{"engine_id":"{engine_id}","kv_buffer_device":"npu","kv_connector":"MooncakeConnectorV1","kv_connector_extra_config":{{"decode":{{"dp_size":{d_dp},"tp_size":{d_tp}}},"prefill":{{"dp_size":{p_dp},"tp_size":{p_tp}}}}},"kv_connector_module_path":"vllm_ascend.distributed.mooncake_connector","kv_parallel_size":1,"kv_port":"{port}","kv_rank":{rank},"kv_role":"{kv_role}"}}"#
    )
}

/// A GPU PD backend whose workers carry the given `kv-transfer-config` values.
fn pd_with_kv(prefill: Value, decode: Value) -> Value {
    let mut b = pd("c", gpu(), gpu());
    b["workers"][0]["config"] = json!({"kv-transfer-config": prefill});
    b["workers"][1]["config"] = json!({"kv-transfer-config": decode});
    b
}

fn kv_connector(children: &[Value]) -> Option<&Value> {
    first(children, "ModelServer")["spec"].get("kvConnector")
}

#[test]
fn d13_kv_transfer_config_kept_or_generated() {
    // Kept as given: a string verbatim, an object as compact JSON with sorted keys (either spelling of the key).
    let given = "{ \"kv_connector\": \"MooncakeConnectorV1\",\n  \"kv_role\": \"kv_producer\" }\n";
    let mut b = pd_with_kv(json!(given), json!({}));
    b["workers"][1]["config"] =
        json!({"kv_transfer_config": {"kv_role": "kv_consumer", "kv_connector": "MooncakeConnectorV1"}});
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    let mut expected = vllm_command(&["--kv-transfer-config", given, "--served-model-name", "m"]);
    assert_eq!(pd_command(serving, "prefill"), expected);
    expected[6] = r#"{"kv_connector":"MooncakeConnectorV1","kv_role":"kv_consumer"}"#.to_owned();
    assert_eq!(pd_command(serving, "decode"), expected);
    assert_eq!(kv_connector(&children), Some(&json!({"type": "mooncake"})));

    // Generated on Ascend (Mooncake), tp/dp sizes from each worker (either spelling, integer or decimal string).
    let mut b = pd("c", ascend(), ascend());
    b["workers"][0]["config"] = json!({"tensor_parallel_size": 2, "data-parallel-size": "4"});
    b["workers"][1]["config"] = json!({"tensor-parallel-size": 8});
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    assert_eq!(
        pd_command(serving, "prefill"),
        vllm_command(&[
            "--data-parallel-size",
            "4",
            "--kv-transfer-config",
            &mooncake("prefill", 2, 4, 8, 1),
            "--served-model-name",
            "m",
            "--tensor-parallel-size",
            "2",
        ])
    );
    assert_eq!(
        pd_command(serving, "decode"),
        vllm_command(&[
            "--kv-transfer-config",
            &mooncake("decode", 2, 4, 8, 1),
            "--served-model-name",
            "m",
            "--tensor-parallel-size",
            "8",
        ])
    );
    assert_eq!(kv_connector(&children), Some(&json!({"type": "mooncake"})));

    // Defaults 1.
    let children = render_model(&model(json!([pd("c", ascend(), ascend())])));
    let serving = first(&children, "ModelServing");
    assert_eq!(pd_command(serving, "decode")[6], mooncake("decode", 1, 1, 1, 1));

    // Generated on GPU (Nixl).
    let children = render_model(&model(json!([pd("c", gpu(), gpu())])));
    let serving = first(&children, "ModelServing");
    assert_eq!(
        pd_command(serving, "prefill"),
        vllm_command(&[
            "--kv-transfer-config",
            r#"{"kv_connector":"NixlConnector","kv_role":"kv_producer"}"#,
            "--served-model-name",
            "m",
        ])
    );
    assert_eq!(
        pd_command(serving, "decode"),
        vllm_command(&[
            "--kv-transfer-config",
            r#"{"kv_connector":"NixlConnector","kv_role":"kv_consumer"}"#,
            "--served-model-name",
            "m",
        ])
    );
    assert_eq!(kv_connector(&children), Some(&json!({"type": "nixl"})));

    // ModelServer kvConnector mapping, from the decode worker's kv_connector.
    for (connector, mapped) in [
        ("MooncakeConnectorV1", Some("mooncake")),
        ("MooncakeConnector", Some("mooncake")),
        ("LMCacheConnectorV1", Some("lmcache")),
        ("NixlConnector", Some("nixl")),
        ("SharedStorageConnector", None),
    ] {
        let decode = json!({"kv_connector": connector, "kv_role": "kv_consumer"});
        for prefill in [json!({"kv_role": "kv_producer"}), json!({"kv_connector": connector})] {
            let children = render_model(&model(json!([pd_with_kv(prefill, decode.to_string().into())])));
            assert_eq!(kv_connector(&children), mapped.map(|t| json!({"type": t})).as_ref(), "{connector}");
        }
    }
    // No kv_connector at all: absent.
    let children =
        render_model(&model(json!([pd_with_kv(json!({"kv_role": "kv_producer"}), json!({"kv_role": "kv_consumer"}))])));
    assert_eq!(kv_connector(&children), None);
    // vLLM: never.
    assert_eq!(kv_connector(&render_model(&model(json!([vllm("b")])))), None);
}

#[test]
fn d14_user_env_wins_over_standard_and_role_env() {
    let user_env = json!([
        {"name": "VLLM_USE_V1", "value": "0"},
        {"name": "A", "value": "a"},
        {"name": "POD_NAME", "value": "fixed"},
        {"name": "HF_HUB_OFFLINE", "value": "0"},
        {"name": "HCCL_IF_IP", "value": "10.0.0.1"},
    ]);
    let mut b = vllm("b");
    b["env"] = user_env.clone();
    b["workers"][0]["pods"] = json!(2);
    let mut c = pd("c", ascend(), ascend());
    c["env"] = user_env;
    let children = render_model(&model(json!([b, c])));

    let serving = named(&children, "ModelServing", "m-b");
    for name in ["runtime", "engine"] {
        let cont = container(entry(serving, "leader"), name);
        assert_eq!(
            env_names(cont),
            s(&[
                "VLLM_USE_V1",
                "A",
                "POD_NAME",
                "HF_HUB_OFFLINE",
                "HCCL_IF_IP",
                "NAMESPACE",
                "REDIS_HOST",
                "REDIS_PORT",
                "REDIS_PASSWORD"
            ]),
            "{name}"
        );
        assert_eq!(*env(cont, "VLLM_USE_V1"), json!({"name": "VLLM_USE_V1", "value": "0"}));
        assert_eq!(*env(cont, "POD_NAME"), json!({"name": "POD_NAME", "value": "fixed"}));
    }

    let serving = named(&children, "ModelServing", "m-c");
    let prefill = container(entry(serving, "prefill"), "vllm");
    assert_eq!(
        env_names(prefill),
        s(&[
            "VLLM_USE_V1",
            "A",
            "POD_NAME",
            "HF_HUB_OFFLINE",
            "HCCL_IF_IP",
            "NAMESPACE",
            "REDIS_HOST",
            "REDIS_PORT",
            "REDIS_PASSWORD"
        ])
    );
    assert_eq!(*env(prefill, "HCCL_IF_IP"), json!({"name": "HCCL_IF_IP", "value": "10.0.0.1"}));
    assert_eq!(env(prefill, "HF_HUB_OFFLINE")["value"], "0");
    let decode = container(entry(serving, "decode"), "runtime");
    assert_eq!(
        env_names(decode),
        s(&[
            "VLLM_USE_V1",
            "A",
            "POD_NAME",
            "HF_HUB_OFFLINE",
            "HCCL_IF_IP",
            "NAMESPACE",
            "REDIS_HOST",
            "REDIS_PORT",
            "REDIS_PASSWORD",
            "GLOO_SOCKET_IFNAME",
            "TP_SOCKET_IFNAME",
            "HCCL_SOCKET_IFNAME",
        ])
    );

    // No container anywhere has a duplicate env name.
    for serving in of_kind(&children, "ModelServing") {
        for cont in all_containers(serving) {
            let mut names = env_names(cont);
            let count = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), count, "duplicate env in {}", cont["name"]);
        }
    }
}

/// A backend-level-autoscaled vLLM backend with LoRA, config and env, the base of the D-15 variations.
fn d15_backend() -> Value {
    let mut b = vllm("b");
    b["minReplicas"] = json!(1);
    b["maxReplicas"] = json!(3);
    b["routeWeight"] = json!(50);
    b["env"] = json!([{"name": "A", "value": "a"}]);
    b["workers"][0]["config"] = json!({"max-model-len": 4096});
    b["loraAdapters"] = json!([{"name": "la", "artifactURL": "s3://bucket/lora-a"}]);
    b["autoscalingPolicy"] = policy();
    b
}

/// A named change of a ModelBooster input.
type Variation = (&'static str, fn(&mut Value));

fn d15_serving(input: &Value) -> Value {
    first(&render_model(input), "ModelServing").clone()
}

#[test]
fn d15_revision_is_a_content_hash_of_the_rendered_spec() {
    assert_eq!(revision_of_spec(&json!({})), "44136fa355", "spec test vector");

    // Every child's revision is the hash of its spec; a ModelServing's excludes spec.replicas and the label itself,
    // and is the same on the object and all its pod templates.
    let mut input = model(json!([d15_backend(), pd("c", ascend(), ascend())]));
    let policy = input["spec"]["backends"][0].as_object_mut().expect("backend").remove("autoscalingPolicy");
    input["spec"]["autoscalingPolicy"] = policy.expect("policy");
    input["spec"]["backends"][0]["scalingCost"] = json!(3);
    input["spec"]["backends"][1]["scalingCost"] = json!(1);
    let children = render_model(&input);
    for child in &children {
        let label = revision(child);
        let mut spec = child["spec"].clone();
        if child["kind"] == "ModelServing" {
            spec.as_object_mut().expect("spec").remove("replicas");
            for role in spec["template"]["roles"].as_array_mut().expect("roles") {
                for key in ["entryTemplate", "workerTemplate"] {
                    if let Some(labels) = role.get_mut(key).and_then(|t| t["metadata"]["labels"].as_object_mut()) {
                        assert_eq!(labels.remove(REVISION), Some(json!(label)));
                    }
                }
            }
        }
        assert_eq!(label, revision_of_spec(&spec), "{} {}", child["kind"], child["metadata"]["name"]);
    }

    // Changes that roll the ModelServing.
    let base = model(json!([d15_backend()]));
    let base_serving = d15_serving(&base);
    let rolled: [Variation; 6] = [
        ("image", |b| b["workers"][0]["image"] = json!("vllm/vllm-openai:v0.11.0")),
        ("LoRA added", |b| {
            b["loraAdapters"]
                .as_array_mut()
                .expect("adapters")
                .push(json!({"name": "lb", "artifactURL": "s3://bucket/lora-b"}))
        }),
        ("LoRA removed", |b| b["loraAdapters"] = json!([])),
        ("config", |b| b["workers"][0]["config"]["max-model-len"] = json!(8192)),
        ("env value", |b| b["env"][0]["value"] = json!("b")),
        ("env added", |b| b["env"].as_array_mut().expect("env").push(json!({"name": "B", "value": "b"}))),
    ];
    for (what, change) in rolled {
        let mut input = base.clone();
        change(&mut input["spec"]["backends"][0]);
        let serving = d15_serving(&input);
        assert_ne!(revision(&serving), revision(&base_serving), "{what} must change the ModelServing revision");
    }

    // Changes that do not touch the ModelServing's revision or pod templates.
    let kept: [Variation; 6] = [
        ("minReplicas", |m| m["spec"]["backends"][0]["minReplicas"] = json!(2)),
        ("maxReplicas", |m| m["spec"]["backends"][0]["maxReplicas"] = json!(7)),
        ("routeWeight", |m| m["spec"]["backends"][0]["routeWeight"] = json!(10)),
        ("autoscaling policy", |m| {
            m["spec"]["backends"][0]["autoscalingPolicy"]["metrics"][0]["targetValue"] = json!(20);
            m["spec"]["backends"][0]["autoscalingPolicy"]["tolerancePercent"] = json!(5);
        }),
        ("model-level autoscaling with scalingCost", |m| {
            let policy = m["spec"]["backends"][0].as_object_mut().expect("backend").remove("autoscalingPolicy");
            m["spec"]["autoscalingPolicy"] = policy.expect("policy");
            m["spec"]["backends"][0]["scalingCost"] = json!(4);
        }),
        ("costExpansionRatePercent", |m| {
            let policy = m["spec"]["backends"][0].as_object_mut().expect("backend").remove("autoscalingPolicy");
            m["spec"]["autoscalingPolicy"] = policy.expect("policy");
            m["spec"]["backends"][0]["scalingCost"] = json!(9);
            m["spec"]["costExpansionRatePercent"] = json!(120);
        }),
    ];
    for (what, change) in kept {
        let mut input = base.clone();
        change(&mut input);
        let serving = d15_serving(&input);
        assert_eq!(revision(&serving), revision(&base_serving), "{what} must not change the ModelServing revision");
        assert_eq!(serving["spec"]["template"], base_serving["spec"]["template"], "{what}: templates");
    }
    // minReplicas is the one ModelServing field that follows: spec.replicas.
    let mut input = base.clone();
    input["spec"]["backends"][0]["minReplicas"] = json!(2);
    assert_eq!(d15_serving(&input)["spec"]["replicas"], json!(2));

    // An unrelated backend does not change this backend's revision.
    let two = d15_serving(&model(json!([d15_backend(), vllm("other")])));
    assert_eq!(revision(&two), revision(&base_serving));
}

#[test]
fn d16_sglang_backend_renders_launch_server() {
    let mut b = sglang("s");
    b["env"] = json!([{"name": "A", "value": "a"}]);
    b["workers"][0]["config"] = json!({"tp-size": 2, "mem-fraction-static": 0.85, "enable-torch-compile": true});
    b["workers"][0]["resources"] = gpu();
    let children = render_model(&model(json!([b])));
    let serving = first(&children, "ModelServing");
    assert_eq!(
        engine_command(serving),
        s(&[
            "python3",
            "-m",
            "sglang.launch_server",
            "--model-path",
            MD,
            "--port",
            "8000",
            "--host",
            "0.0.0.0",
            "--enable-metrics",
            "--enable-torch-compile",
            "--mem-fraction-static",
            "0.85",
            "--served-model-name",
            "m",
            "--tp-size",
            "2",
        ])
    );
    let leader = role(serving, "leader");
    assert_eq!(leader["replicas"], json!(1));
    assert_eq!(leader["workerReplicas"], json!(0));
    assert!(leader.get("workerTemplate").is_none(), "SGLang has no worker template");
    assert_eq!(serving["spec"]["template"]["gangPolicy"], json!({"minRoleReplicas": {"leader": 1}}));
    assert_eq!(serving["spec"]["template"]["restartGracePeriodSeconds"], json!(60));
    assert_eq!(leader["entryTemplate"]["spec"]["terminationGracePeriodSeconds"], json!(300));

    let runtime = container(&leader["entryTemplate"], "runtime");
    assert_eq!(strings(&runtime["args"])[2..4], s(&["--engine", "sglang"])[..]);
    let engine = container(&leader["entryTemplate"], "engine");
    assert_eq!(engine["image"], SGLANG_IMAGE);
    assert_eq!(engine["resources"], gpu());
    assert_eq!(
        env_names(engine),
        s(&["A", "POD_NAME", "NAMESPACE", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"]),
        "engine env without VLLM_USE_V1"
    );
    assert_eq!(env_names(runtime), env_names(engine));
    assert_eq!(engine["volumeMounts"], json!([{"name": "s-weights", "mountPath": "/models-cache"}]));
    assert_eq!(
        engine["readinessProbe"],
        json!({"failureThreshold": 3, "httpGet": {"path": "/health", "port": 8000, "scheme": "HTTP"},
               "initialDelaySeconds": 90, "periodSeconds": 5, "successThreshold": 1, "timeoutSeconds": 1})
    );
    assert!(engine.get("lifecycle").is_none(), "no preStop hook");
    assert!(!engine_command(serving).iter().any(|a| a.contains("kv-events")));
    let server = first(&children, "ModelServer");
    assert_eq!(server["spec"]["inferenceEngine"], "SGLang");
    assert_eq!(server["spec"]["model"], "m");

    // Single node whatever `pods` says (V-32 rejects pods > 1 beforehand).
    let mut b = sglang("s");
    b["workers"][0]["pods"] = json!(3);
    let children = render_model(&model(json!([b])));
    let leader = role(first(&children, "ModelServing"), "leader");
    assert_eq!(leader["workerReplicas"], json!(0));
    assert!(leader.get("workerTemplate").is_none());
    assert_eq!(engine_command(first(&children, "ModelServing"))[0], "python3");
}

#[test]
fn d17_mindie_backends_are_not_rendered() {
    for (index, backend_type) in [(0, "MindIE"), (1, "MindIEDisaggregated")] {
        let mut unsupported = vllm("x");
        unsupported["type"] = json!(backend_type);
        let backends = if index == 0 { json!([unsupported]) } else { json!([vllm("b"), unsupported]) };
        assert_eq!(
            render_error(&model(backends)),
            format!(
                "spec.backends[{index}].type: backend type '{backend_type}' is not supported yet; supported types: vLLM, vLLMDisaggregated, SGLang"
            )
        );
    }
}

#[test]
fn d18_settings_images_are_used_and_roll_the_revision() {
    let mut b = vllm("b");
    b["workers"][0]["pods"] = json!(2);
    b["loraAdapters"] = json!([{"name": "la", "artifactURL": "s3://bucket/lora-a"}]);
    let mut c = pd("c", gpu(), gpu());
    c["loraAdapters"] = json!([{"name": "la", "artifactURL": "s3://bucket/lora-a"}]);
    let input = model(json!([b, c, sglang("s")]));
    let settings = Settings {
        downloader_image: "registry.example.com/kthena/downloader:v0.1.0".into(),
        runtime_image: "registry.example.com/kthena/runtime:v0.1.0".into(),
    };
    let custom = render_values_with(&booster_json(&input), &settings).expect("renders");
    let default = render_model(&input);
    let (mut downloaders, mut runtimes) = (0, 0);
    for serving in of_kind(&custom, "ModelServing") {
        for template in pod_templates(serving) {
            for init in template["spec"]["initContainers"].as_array().into_iter().flatten() {
                assert_eq!(init["image"], settings.downloader_image.as_str(), "{}", init["name"]);
                downloaders += 1;
            }
        }
        for c in all_containers(serving).into_iter().filter(|c| c["name"] == "runtime") {
            assert_eq!(c["image"], settings.runtime_image.as_str());
            runtimes += 1;
        }
    }
    // vLLM: 2 init containers in 2 templates; PD: 2 in each role's entry template; SGLang: 1.
    assert_eq!(downloaders, 4 + 4 + 1);
    assert_eq!(runtimes, 1 + 2 + 1);
    let text = serde_json::to_string(&custom).expect("JSON");
    assert!(!text.contains("kthena/downloader:latest") && !text.contains("kthena/runtime:latest"));

    for name in ["m-b", "m-c", "m-s"] {
        assert_ne!(
            revision(named(&custom, "ModelServing", name)),
            revision(named(&default, "ModelServing", name)),
            "{name}"
        );
    }
    // Each image on its own rolls the ModelServing.
    for settings in [
        Settings { downloader_image: "d:2".into(), ..Settings::default() },
        Settings { runtime_image: "r:2".into(), ..Settings::default() },
    ] {
        let other = render_values_with(&booster_json(&input), &settings).expect("renders");
        assert_ne!(revision(named(&other, "ModelServing", "m-b")), revision(named(&default, "ModelServing", "m-b")));
    }
}

#[test]
fn d19_metric_endpoint_port_follows_runtime_port() {
    let policy = policy();
    // Backend level.
    let mut b = vllm("b");
    b["env"] = json!([{"name": "RUNTIME_PORT", "value": "9100"}]);
    b["autoscalingPolicy"] = policy.clone();
    let mut c = vllm("c");
    c["autoscalingPolicy"] = policy.clone();
    let mut d = vllm("d");
    d["env"] = json!([{"name": "RUNTIME_PORT", "valueFrom": {"configMapKeyRef": {"name": "ports", "key": "runtime"}}}]);
    d["autoscalingPolicy"] = policy.clone();
    let children = render_model(&model(json!([b, c, d])));
    for (name, port) in [("m-b", 9100), ("m-c", 8100), ("m-d", 8100)] {
        let binding = named(&children, "AutoscalingPolicyBinding", name);
        assert_eq!(
            binding["spec"]["scalingConfiguration"]["target"],
            json!({
                "targetRef": {"kind": "ModelServing", "name": name},
                "additionalMatchLabels": {"modelserving.volcano.sh/role": "leader"},
                "metricEndpoint": {"uri": "/metrics", "port": port},
            }),
            "{name}"
        );
    }
    // Model level: each target its own backend's port.
    let mut b = vllm("b");
    b["env"] = json!([{"name": "RUNTIME_PORT", "value": "9100"}]);
    b["scalingCost"] = json!(2);
    let mut c = vllm("c");
    c["scalingCost"] = json!(1);
    let mut input = model(json!([b, c]));
    input["spec"]["autoscalingPolicy"] = policy;
    let children = render_model(&input);
    let params = &first(&children, "AutoscalingPolicyBinding")["spec"]["optimizerConfiguration"]["params"];
    for (i, port) in [(0, 9100), (1, 8100)] {
        assert_eq!(params[i]["target"]["metricEndpoint"], json!({"uri": "/metrics", "port": port}));
    }
}

#[test]
fn d20_cost_expansion_rate_defaults_to_200_and_zero_is_written() {
    let policy = policy();
    let mut b = vllm("b");
    b["scalingCost"] = json!(5);
    b["maxReplicas"] = json!(4);
    let mut c = vllm("c");
    c["minReplicas"] = json!(0);
    c["maxReplicas"] = json!(2);
    let mut input = model(json!([b, c]));
    input["spec"]["autoscalingPolicy"] = policy;
    let booster = booster_json(&input);
    assert_eq!(booster.spec.cost_expansion_rate_percent, 200);
    assert!(booster.spec.backends.iter().all(|b| b.scale_to_zero_grace_period == "30s"));

    let children = render_model(&input);
    let binding = first(&children, "AutoscalingPolicyBinding");
    assert_eq!(binding["metadata"]["name"], "m");
    assert_eq!(
        binding["spec"],
        json!({
            "policyRef": {"name": "m"},
            "optimizerConfiguration": {
                "costExpansionRatePercent": 200,
                "params": [
                    {
                        "target": {
                            "targetRef": {"kind": "ModelServing", "name": "m-b"},
                            "additionalMatchLabels": {"modelserving.volcano.sh/role": "leader"},
                            "metricEndpoint": {"uri": "/metrics", "port": 8100},
                        },
                        "cost": 5, "minReplicas": 1, "maxReplicas": 4,
                    },
                    {
                        "target": {
                            "targetRef": {"kind": "ModelServing", "name": "m-c"},
                            "additionalMatchLabels": {"modelserving.volcano.sh/role": "leader"},
                            "metricEndpoint": {"uri": "/metrics", "port": 8100},
                        },
                        "minReplicas": 0, "maxReplicas": 2,
                    },
                ],
            },
        })
    );

    input["spec"]["costExpansionRatePercent"] = json!(0);
    let children = render_model(&input);
    assert_eq!(
        first(&children, "AutoscalingPolicyBinding")["spec"]["optimizerConfiguration"]["costExpansionRatePercent"],
        json!(0)
    );
}

// ---------------------------------------------------------------------------------------------------------
// §4.1: render-time errors, order, determinism

#[test]
fn render_errors_name_the_missing_role_worker() {
    let mut b = vllm("b");
    b["workers"][0]["type"] = json!("prefill");
    assert_eq!(render_error(&model(json!([b]))), "server worker not found in backend: b");

    let mut c = pd("c", gpu(), gpu());
    c["workers"].as_array_mut().expect("workers").remove(0);
    assert_eq!(render_error(&model(json!([c]))), "prefill worker not found in backend: c");

    let mut c = pd("c", gpu(), gpu());
    c["workers"].as_array_mut().expect("workers").remove(1);
    assert_eq!(render_error(&model(json!([vllm("b"), c]))), "decode worker not found in backend: c");

    let mut s = sglang("s");
    s["workers"][0]["type"] = json!("decode");
    assert_eq!(render_error(&model(json!([s]))), "server worker not found in backend: s");
}

#[test]
fn render_errors_for_kv_transfer_rules() {
    // R-4: a string that is not a JSON object.
    let b = pd_with_kv(json!("not json"), json!({"kv_connector": "NixlConnector"}));
    assert_eq!(
        render_error(&model(json!([b]))),
        "spec.backends[0].workers[0].config.kv-transfer-config: kv-transfer-config must be a JSON object or a string holding one"
    );
    // R-5: on one worker only.
    let mut b = pd("c", gpu(), gpu());
    b["workers"][1]["config"] = json!({"kv-transfer-config": {"kv_connector": "NixlConnector"}});
    assert_eq!(
        render_error(&model(json!([b]))),
        "spec.backends[0].workers: kv-transfer-config must be set on both the prefill and the decode worker or on neither"
    );
    // R-6: nothing to generate from.
    assert_eq!(
        render_error(&model(json!([pd("c", gpu(), cpu_only())]))),
        "spec.backends[0].workers: cannot generate kv-transfer-config: prefill and decode workers must both request huawei.com/ascend-* or both request nvidia.com/gpu; otherwise set kv-transfer-config on both"
    );
    assert!(render_error(&model(json!([pd("c", ascend(), gpu())]))).contains("cannot generate kv-transfer-config"));
    // R-7: sizes for the Mooncake config.
    let mut b = pd("c", ascend(), ascend());
    b["workers"][1]["config"] = json!({"tensor-parallel-size": "two"});
    assert_eq!(
        render_error(&model(json!([b]))),
        "spec.backends[0].workers[1].config.tensor-parallel-size: tensor-parallel-size must be a positive integer"
    );
    let mut b = pd("c", ascend(), ascend());
    b["workers"][0]["config"] = json!({"data_parallel_size": 0});
    assert_eq!(
        render_error(&model(json!([b]))),
        "spec.backends[0].workers[0].config.data_parallel_size: data_parallel_size must be a positive integer"
    );
}

#[test]
fn render_order_is_servings_servers_route_then_autoscaling_pairs() {
    let policy = policy();
    let order = |children: &[Value]| -> Vec<String> {
        children
            .iter()
            .map(|c| format!("{}/{}", c["kind"].as_str().unwrap_or(""), c["metadata"]["name"].as_str().unwrap_or("")))
            .collect()
    };

    // Backend level: pairs in backend order, only for backends with a policy.
    let mut b = vllm("b");
    b["autoscalingPolicy"] = policy.clone();
    let mut d = vllm("d");
    d["autoscalingPolicy"] = policy.clone();
    let children = render_model(&model(json!([b, pd("c", gpu(), gpu()), d, sglang("s")])));
    assert_eq!(
        order(&children),
        s(&[
            "ModelServing/m-b",
            "ModelServing/m-c",
            "ModelServing/m-d",
            "ModelServing/m-s",
            "ModelServer/m-b",
            "ModelServer/m-c",
            "ModelServer/m-d",
            "ModelServer/m-s",
            "ModelRoute/m",
            "AutoscalingPolicy/m-b",
            "AutoscalingPolicyBinding/m-b",
            "AutoscalingPolicy/m-d",
            "AutoscalingPolicyBinding/m-d",
        ])
    );

    // Model level: one pair.
    let mut b = vllm("b");
    b["scalingCost"] = json!(1);
    let mut c = vllm("c");
    c["scalingCost"] = json!(1);
    let mut input = model(json!([b, c]));
    input["spec"]["autoscalingPolicy"] = policy;
    assert_eq!(
        order(&render_model(&input)),
        s(&[
            "ModelServing/m-b",
            "ModelServing/m-c",
            "ModelServer/m-b",
            "ModelServer/m-c",
            "ModelRoute/m",
            "AutoscalingPolicy/m",
            "AutoscalingPolicyBinding/m",
        ])
    );

    // No autoscaling: no pair.
    assert_eq!(
        order(&render_model(&model(json!([vllm("b")])))),
        s(&["ModelServing/m-b", "ModelServer/m-b", "ModelRoute/m"])
    );
}

#[test]
fn two_renders_are_byte_identical() {
    let mut b = d15_backend();
    b["workers"][0]["pods"] = json!(2);
    b["workers"][0]["config"] = json!({"z": 1, "a": {"y": [1, 2], "b": "x"}, "m": ""});
    let input = model(json!([b, pd("c", ascend(), ascend()), pd("d", gpu(), gpu()), sglang("s")]));
    let booster = booster_json(&input);
    let first_render = render(&booster, &Settings::default()).expect("renders").into_vec();
    let second_render = render(&booster, &Settings::default()).expect("renders").into_vec();
    let third_render = render(&booster_json(&input), &Settings::default()).expect("renders").into_vec();
    let json = |children: &[booster_render::Child]| serde_json::to_string(children).expect("JSON");
    let yaml = |children: &[booster_render::Child]| serde_yaml::to_string(children).expect("YAML");
    assert_eq!(json(&first_render), json(&second_render));
    assert_eq!(json(&first_render), json(&third_render));
    assert_eq!(yaml(&first_render), yaml(&second_render));
}

// ---------------------------------------------------------------------------------------------------------
// Reference behaviour kept on purpose (§4.4, §4.7, §4.12) that the deviations above rely on

#[test]
fn downloader_and_runtime_env_and_env_from_follow_the_reference() {
    let env_from = json!([{"secretRef": {"name": "creds"}}]);
    let mut b = vllm("b");
    b["envFrom"] = env_from.clone();
    b["env"] = json!([
        {"name": "HF_ENDPOINT", "value": "https://hf-mirror.com"},
        {"name": "OTHER", "value": "o"},
        {"name": "ENDPOINT", "value": "https://obs.example.com"},
    ]);
    b["loraAdapters"] = json!([{"name": "la", "artifactURL": "s3://bucket/lora-a"}]);
    let mut c = pd("c", gpu(), gpu());
    c["envFrom"] = env_from.clone();
    c["env"] = json!([
        {"name": "ENDPOINT", "value": ""},
        {"name": "HF_ENDPOINT", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "endpoint"}}},
    ]);
    let children = render_model(&model(json!([b, c])));

    let serving = named(&children, "ModelServing", "m-b");
    let leader = entry(serving, "leader");
    let init = leader["spec"]["initContainers"].as_array().expect("init containers");
    assert_eq!(init[0]["name"], "m-model-downloader");
    // Model downloader: ENDPOINT then HF_ENDPOINT, literal non-empty values only; all of envFrom.
    assert_eq!(env_names(&init[0]), s(&["ENDPOINT", "HF_ENDPOINT"]));
    assert_eq!(init[0]["envFrom"], env_from);
    // LoRA downloader: all of the backend env, verbatim.
    assert_eq!(init[1]["name"], "m-lora-downloader-0");
    assert_eq!(env_names(&init[1]), s(&["HF_ENDPOINT", "OTHER", "ENDPOINT"]));
    assert_eq!(init[1]["envFrom"], env_from);
    assert_eq!(container(leader, "runtime")["envFrom"], env_from);
    assert!(container(leader, "engine").get("envFrom").is_none());

    let serving = named(&children, "ModelServing", "m-c");
    for name in ["prefill", "decode"] {
        let init = entry(serving, name)["spec"]["initContainers"].as_array().expect("init containers");
        assert!(init[0].get("env").is_none(), "empty and valueFrom endpoints are not passed to the model downloader");
        assert!(container(entry(serving, name), "vllm").get("envFrom").is_none());
    }
    assert!(container(entry(serving, "prefill"), "runtime").get("envFrom").is_none());
    assert_eq!(container(entry(serving, "decode"), "runtime")["envFrom"], env_from);
}
