//! Names of children and of the objects inside them (reference §2.1); V-39 guarantees they fit, nothing is cut.

use booster_api::ModelBackend;

/// `<model>-<backend>`: the ModelServing, ModelServer and backend-level policy and binding of a backend.
pub fn backend_child(model: &str, backend: &str) -> String {
    format!("{model}-{backend}")
}

/// The cache volume of a backend.
pub fn cache_volume(backend: &ModelBackend) -> String {
    format!("{}-weights", backend.name)
}

/// The model downloader init container.
pub fn model_downloader(model: &str) -> String {
    format!("{model}-model-downloader")
}

/// The init container downloading LoRA adapter `index`.
pub fn lora_downloader(model: &str, index: usize) -> String {
    format!("{model}-lora-downloader-{index}")
}

/// The container of vLLM worker pods: `<backend>-<type>-worker`, lower-cased.
pub fn vllm_worker_container(backend: &ModelBackend) -> String {
    format!("{}-{}-worker", backend.name.to_lowercase(), backend.type_.as_str().to_lowercase())
}
