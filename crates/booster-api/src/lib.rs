//! Kubernetes API types of `ModelBooster` and the five Kthena child kinds it renders, with their CRD schemas.
//!
//! All kinds are `v1alpha1` and wire-compatible with Kthena v0.1.0. Types serialize without `null`s (absent
//! optional fields are omitted) and deserialize leniently; [`strict`] reads documents strictly (unknown fields are
//! errors) for offline use.

pub mod autoscaling;
mod cel;
pub mod crds;
pub mod labels;
pub mod model_booster;
pub mod model_server;
pub mod model_serving;
pub mod routing;
pub mod strict;

pub use autoscaling::{AutoscalingPolicy, AutoscalingPolicyBinding, AutoscalingPolicySpec};
pub use cel::{MAX_BACKENDS, MAX_METRICS};
pub use model_booster::{
    BackendStatus, BackendType, LoraAdapter, ModelBackend, ModelBooster, ModelBoosterSpec, ModelBoosterStatus,
    ModelWorker, WorkerType,
};
pub use model_server::ModelServer;
pub use model_serving::ModelServing;
pub use routing::ModelRoute;

/// API group of ModelBooster, ModelServing, AutoscalingPolicy and AutoscalingPolicyBinding.
pub const WORKLOAD_GROUP: &str = "workload.serving.volcano.sh";
/// API group of ModelServer and ModelRoute.
pub const NETWORKING_GROUP: &str = "networking.serving.volcano.sh";
/// The only API version of every kind.
pub const VERSION: &str = "v1alpha1";
