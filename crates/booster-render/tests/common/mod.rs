//! Helpers shared by the integration tests of booster-render.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;

use booster_api::ModelBooster;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/reference/kthena-v0.1.0` of the repository.
pub fn reference_dir() -> PathBuf {
    repo_root().join("../shared/reference/kthena-v0.1.0")
}

/// Decodes one ModelBooster document strictly.
pub fn strict_model_booster(text: &str) -> ModelBooster {
    let mut boosters = booster_api::strict::decode_all::<ModelBooster>(text).expect("a strict ModelBooster document");
    assert_eq!(boosters.len(), 1, "one document");
    boosters.remove(0)
}

// ---- Helpers of the independent renderer tests (snapshots.rs, deviations.rs). ----

/// The uid the CLI uses for a document without `metadata.uid` (spec §5.1).
pub const ZERO_UID: &str = "00000000-0000-0000-0000-000000000000";

/// Fills what a cluster (or the CLI, spec §5.1) fills before rendering: namespace `default` and the all-zero uid
/// when they are missing.
pub fn with_cluster_metadata(mut m: ModelBooster) -> ModelBooster {
    m.metadata.namespace.get_or_insert_with(|| "default".to_owned());
    m.metadata.uid.get_or_insert_with(|| ZERO_UID.to_owned());
    m
}

/// Decodes one ModelBooster document strictly and fills the cluster metadata.
pub fn booster(text: &str) -> ModelBooster {
    with_cluster_metadata(strict_model_booster(text))
}

/// Renders `m` with `settings` and returns the children, in render order, as JSON values.
pub fn render_values_with(
    m: &ModelBooster,
    settings: &booster_render::Settings,
) -> Result<Vec<serde_json::Value>, booster_render::RenderError> {
    Ok(booster_render::render(m, settings)?
        .into_vec()
        .iter()
        .map(|child| child.to_value().expect("child as JSON"))
        .collect())
}

/// Renders `m` with the default settings; panics with the render error.
pub fn render_values(m: &ModelBooster) -> Vec<serde_json::Value> {
    render_values_with(m, &booster_render::Settings::default()).unwrap_or_else(|e| panic!("render failed: {e}"))
}

/// The child of `kind` and `name` among rendered `children`.
pub fn child<'a>(children: &'a [serde_json::Value], kind: &str, name: &str) -> &'a serde_json::Value {
    children
        .iter()
        .find(|c| c["kind"] == kind && c["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no rendered {kind} {name}"))
}

/// The `.yaml` files of the repository's `examples/` directory, sorted by name.
pub fn example_files() -> Vec<PathBuf> {
    yaml_files(&repo_root().join("examples"))
}

/// The `.yaml` files of `dir`, sorted by name.
pub fn yaml_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// Decodes a ModelBooster given as a JSON value (JSON is YAML) strictly and fills the cluster metadata.
pub fn booster_json(value: &serde_json::Value) -> ModelBooster {
    booster(&value.to_string())
}

// ---- Small inline inputs shared by deviations.rs and snapshots.rs. ----

/// Image of the vLLM workers of the small inputs.
pub const VLLM_IMAGE: &str = "vllm/vllm-openai:v0.10.1.1";
/// Image of the SGLang workers of the small inputs.
pub const SGLANG_IMAGE: &str = "lmsysorg/sglang:v0.5.2-cu126";
/// Model URI of the small inputs; md5hex = `7d13ed142997ab6b7db5a77ec8c9e194`.
pub const MODEL_URI: &str = "hf://org/model";

/// ModelBooster `m` in namespace `ns` with uid `uid-1` and the given backends.
pub fn model(backends: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "workload.serving.volcano.sh/v1alpha1",
        "kind": "ModelBooster",
        "metadata": {"name": "m", "namespace": "ns", "uid": "uid-1"},
        "spec": {"backends": backends},
    })
}

/// A single-node vLLM backend with one server worker and nothing optional.
pub fn vllm(name: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name, "type": "vLLM", "modelURI": MODEL_URI, "minReplicas": 1, "maxReplicas": 1,
        "workers": [{"type": "server", "image": VLLM_IMAGE}],
    })
}

/// An SGLang backend with one server worker.
pub fn sglang(name: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name, "type": "SGLang", "modelURI": MODEL_URI, "minReplicas": 1, "maxReplicas": 1,
        "workers": [{"type": "server", "image": SGLANG_IMAGE}],
    })
}

/// A prefill/decode backend whose workers request the given resources.
pub fn pd(name: &str, prefill_resources: serde_json::Value, decode_resources: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "name": name, "type": "vLLMDisaggregated", "modelURI": MODEL_URI, "minReplicas": 1, "maxReplicas": 1,
        "workers": [
            {"type": "prefill", "image": VLLM_IMAGE, "resources": prefill_resources},
            {"type": "decode", "image": VLLM_IMAGE, "resources": decode_resources},
        ],
    })
}

/// One NVIDIA GPU.
pub fn gpu() -> serde_json::Value {
    serde_json::json!({"requests": {"cpu": "4", "nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "1"}})
}

/// Two Ascend 910B NPUs.
pub fn ascend() -> serde_json::Value {
    serde_json::json!({"requests": {"cpu": "8", "huawei.com/ascend-1980": "2"}, "limits": {"huawei.com/ascend-1980": "2"}})
}

/// No accelerator.
pub fn cpu_only() -> serde_json::Value {
    serde_json::json!({"requests": {"cpu": "4", "memory": "8Gi"}})
}

/// A one-metric autoscaling policy.
pub fn policy() -> serde_json::Value {
    serde_json::json!({"metrics": [{"metricName": "kthena:num_requests_waiting", "targetValue": 10}]})
}
