//! Pure function from a ModelBooster (plus operator settings) to its child objects or validation errors.
//!
//! No I/O, no clock, no randomness, no process environment: equal inputs give byte-identical output.
//! Decoding a ModelBooster already applies the CRD defaults (see `booster_api::model_booster`), so `render` and
//! `validate` work on what the API server would store.

mod accelerator;
mod autoscaling;
mod cache;
mod children;
mod env;
mod flags;
mod meta;
mod names;
pub mod quantity;
mod revision;
mod route;
mod rules;
mod server;
mod serving;
mod shell;
pub mod validate;
mod worker_config;

use booster_api::{BackendType, ModelBackend, ModelBooster, WorkerType};

pub use children::{Child, Children};
pub use validate::{FieldError, ValidationErrors, validate, validate_update};

use crate::cache::{Cache, CacheLocation};
use crate::meta::Owner;
use crate::rules::RuleError;

/// Image of every downloader init container by default (reference §8).
pub const DEFAULT_DOWNLOADER_IMAGE: &str = "kthena/downloader:latest";
/// Image of every runtime sidecar by default (reference §8).
pub const DEFAULT_RUNTIME_IMAGE: &str = "kthena/runtime:latest";

/// Operator settings that shape the children (D-18).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Image of the model and LoRA downloader init containers.
    pub downloader_image: String,
    /// Image of the runtime sidecar.
    pub runtime_image: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self { downloader_image: DEFAULT_DOWNLOADER_IMAGE.into(), runtime_image: DEFAULT_RUNTIME_IMAGE.into() }
    }
}

/// Why a ModelBooster cannot be rendered (§4.1); `validate` reports all of these, and more, beforehand.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A metadata field the children need is missing.
    #[error("{0}: Required value")]
    MissingMetadata(&'static str),
    /// A rule violation that leaves nothing to render (V-30, V-41, R-4…R-7).
    #[error("{0}")]
    Invalid(FieldError),
    /// The backend has no worker of the role its type needs (the reference's texts).
    #[error("{} worker not found in backend: {backend}", role.as_str())]
    MissingWorker {
        /// The missing role.
        role: WorkerType,
        /// The backend's name.
        backend: String,
    },
    /// A child did not serialize (not expected to happen).
    #[error("serializing a child: {0}")]
    Serialize(#[from] serde_json::Error),
}

impl RenderError {
    fn unsupported(index: usize, backend: &ModelBackend) -> Self {
        Self::Invalid(FieldError::new(
            format!("spec.backends[{index}].type"),
            format!(
                "backend type '{}' is not supported yet; supported types: vLLM, vLLMDisaggregated, SGLang",
                backend.type_.as_str()
            ),
        ))
    }

    fn from_rules(mut errors: Vec<RuleError>) -> Self {
        errors.sort_by_key(|e| e.rule);
        match errors.into_iter().next() {
            Some(first) => Self::Invalid(first.error),
            None => unreachable!("a failed check reports at least one rule violation"),
        }
    }
}

/// Renders every child of `m` in the order of §4.1: ModelServings and ModelServers (backend order), the
/// ModelRoute, then the autoscaling pairs. `m` needs `metadata.name`, `namespace` and `uid`; it need not be valid.
pub fn render(m: &ModelBooster, settings: &Settings) -> Result<Children, RenderError> {
    let owner = Owner::of(m).map_err(RenderError::MissingMetadata)?;
    let mut model_servings = Vec::with_capacity(m.spec.backends.len());
    let mut model_servers = Vec::with_capacity(m.spec.backends.len());
    for (index, backend) in m.spec.backends.iter().enumerate() {
        if matches!(backend.type_, BackendType::MindIe | BackendType::MindIeDisaggregated) {
            return Err(RenderError::unsupported(index, backend));
        }
        let location = CacheLocation::parse(backend.cache_uri.as_deref()).ok_or_else(|| {
            RenderError::Invalid(FieldError::new(format!("spec.backends[{index}].cacheURI"), validate::rules::V41))
        })?;
        let backend =
            serving::Backend { m, owner: &owner, settings, backend, index, cache: Cache::new(backend, location) };
        model_servings.push(serving::render(&backend)?);
        model_servers.push(server::render(&backend)?);
    }
    Ok(Children {
        model_servings,
        model_servers,
        model_route: route::render(m, &owner)?,
        autoscaling: autoscaling::render(m, &owner)?,
    })
}
