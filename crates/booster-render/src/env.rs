//! Environment of the rendered containers and the settings read from the backend's `env` (reference §3.2.3, §3.2.6,
//! D-14).

use booster_api::ModelBackend;
use k8s_openapi::api::core::v1::{ConfigMapKeySelector, EnvVar, EnvVarSource, ObjectFieldSelector, SecretKeySelector};

/// Default port of the runtime sidecar.
pub const DEFAULT_RUNTIME_PORT: i32 = 8100;
/// Default engine URL the runtime sidecar talks to.
pub const DEFAULT_RUNTIME_URL: &str = "http://localhost:8000";
/// Default path of the engine's metrics.
pub const DEFAULT_RUNTIME_METRICS_PATH: &str = "/metrics";

/// The first entry of the backend's env named `name`.
pub fn entry<'a>(backend: &'a ModelBackend, name: &str) -> Option<&'a EnvVar> {
    backend.env.iter().flatten().find(|var| var.name == name)
}

/// The literal value of the first entry named `name` (`""` when the entry has no literal value).
fn literal<'a>(backend: &'a ModelBackend, name: &str) -> Option<&'a str> {
    entry(backend, name).map(|var| var.value.as_deref().unwrap_or_default())
}

/// `RUNTIME_PORT`: a literal integer, else 8100.
pub fn runtime_port(backend: &ModelBackend) -> i32 {
    literal(backend, "RUNTIME_PORT").and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_RUNTIME_PORT)
}

/// `RUNTIME_URL`, as given even when empty.
pub fn runtime_url(backend: &ModelBackend) -> String {
    literal(backend, "RUNTIME_URL").unwrap_or(DEFAULT_RUNTIME_URL).into()
}

/// `RUNTIME_METRICS_PATH`, as given even when empty.
pub fn runtime_metrics_path(backend: &ModelBackend) -> String {
    literal(backend, "RUNTIME_METRICS_PATH").unwrap_or(DEFAULT_RUNTIME_METRICS_PATH).into()
}

/// Env of the model downloader: the `ENDPOINT` and `HF_ENDPOINT` entries with a non-empty literal value.
pub fn model_downloader(backend: &ModelBackend) -> Option<Vec<EnvVar>> {
    let vars: Vec<EnvVar> = ["ENDPOINT", "HF_ENDPOINT"]
        .into_iter()
        .filter_map(|name| entry(backend, name))
        .filter(|var| var.value.as_deref().is_some_and(|v| !v.is_empty()))
        .cloned()
        .collect();
    (!vars.is_empty()).then_some(vars)
}

/// The backend's own env, verbatim (LoRA downloaders, vLLM worker pods).
pub fn backend(backend: &ModelBackend) -> Option<Vec<EnvVar>> {
    backend.env.clone().filter(|vars| !vars.is_empty())
}

/// Which engine the standard env is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// vLLM gets `VLLM_USE_V1=1`.
    Vllm,
    /// SGLang does not.
    Sglang,
}

/// Engine env: the backend's env, then the standard entries, then `extras`; a standard or extra entry is left out
/// when the backend's env already has that name (D-14).
pub fn engine(backend: &ModelBackend, engine: Engine, extras: Vec<EnvVar>) -> Vec<EnvVar> {
    let mut vars = backend.env.clone().unwrap_or_default();
    let standard = [
        Some(field_ref("POD_NAME", "metadata.name")),
        Some(field_ref("NAMESPACE", "metadata.namespace")),
        (engine == Engine::Vllm).then(|| literal_var("VLLM_USE_V1", "1")),
        Some(config_map_key("REDIS_HOST", "redis-config")),
        Some(config_map_key("REDIS_PORT", "redis-config")),
        Some(secret_key("REDIS_PASSWORD", "redis-secret")),
    ];
    for var in standard.into_iter().flatten().chain(extras) {
        if entry(backend, &var.name).is_none() {
            vars.push(var);
        }
    }
    vars
}

/// `name=value`.
pub fn literal_var(name: &str, value: &str) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), value_from: None }
}

/// `name` from a field of the pod (no `apiVersion`, as reference).
pub fn field_ref(name: &str, field_path: &str) -> EnvVar {
    from(
        name,
        EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: field_path.into(), api_version: None }),
            ..EnvVarSource::default()
        },
    )
}

fn config_map_key(key: &str, config_map: &str) -> EnvVar {
    from(
        key,
        EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                key: key.into(),
                name: config_map.into(),
                optional: Some(true),
            }),
            ..EnvVarSource::default()
        },
    )
}

fn secret_key(key: &str, secret: &str) -> EnvVar {
    from(
        key,
        EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { key: key.into(), name: secret.into(), optional: Some(true) }),
            ..EnvVarSource::default()
        },
    )
}

fn from(name: &str, source: EnvVarSource) -> EnvVar {
    EnvVar { name: name.into(), value: None, value_from: Some(source) }
}
