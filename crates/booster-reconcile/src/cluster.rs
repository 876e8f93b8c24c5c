//! The small view of the cluster that a reconcile pass needs, and its errors.

use std::future::Future;

use booster_api::ModelBooster;
use serde_json::Value;

use crate::ChildKind;

/// Why a cluster request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// 404.
    #[error("not found")]
    NotFound,
    /// The API server refused the request for good (400, 403, 422, …); retrying the same request fails again.
    #[error("{message}")]
    Rejected {
        /// HTTP status.
        code: u16,
        /// The API server's message.
        message: String,
    },
    /// 409: a conflict or a failed precondition; worth retrying.
    #[error("{0}")]
    Conflict(String),
    /// Worth retrying: 429, 5xx, timeouts, connection errors.
    #[error("{0}")]
    Transient(String),
}

impl ClusterError {
    /// Classifies an HTTP status and message (spec §5.7, §5.8).
    pub fn from_status(code: u16, message: impl Into<String>) -> Self {
        let message = message.into();
        match code {
            404 => Self::NotFound,
            409 => Self::Conflict(message),
            429 | 500..=599 => Self::Transient(format!("{code}: {message}")),
            _ => Self::Rejected { code, message },
        }
    }
}

impl ClusterError {
    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Conflict(_) | Self::Transient(_))
    }
}

/// An event about a ModelBooster (spec §5.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `Normal` or `Warning`.
    pub warning: bool,
    /// CamelCase reason: `Applied`, `Pruned`, `Failed`, `Active`, `Inactive`.
    pub reason: &'static str,
    /// Human-readable note.
    pub note: String,
    /// The child the event is about (`Applied`, `Pruned`), as the event's related object: without it the event
    /// recorder aggregates the events of every child of one pass into one series and keeps only the first note.
    pub related: Option<(ChildKind, String)>,
}

/// Field manager of every child write and of the status.
pub const FIELD_MANAGER: &str = "model-booster";
/// Field manager that takes over `spec.replicas` of an autoscaled ModelServing (D-22).
pub const REPLICAS_FIELD_MANAGER: &str = "model-booster-replicas";

/// The requests a reconcile pass makes. Objects are JSON values, as the API server returns them.
pub trait Cluster: Send + Sync {
    /// Objects of `kind` in `namespace` matching the label `selector`.
    fn list(
        &self,
        kind: ChildKind,
        namespace: &str,
        selector: &str,
    ) -> impl Future<Output = Result<Vec<Value>, ClusterError>> + Send;

    /// The object of `kind` named `name`, if any.
    fn get(
        &self,
        kind: ChildKind,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<Value>, ClusterError>> + Send;

    /// Server-side apply of `body` with `field_manager`, forced; returns the object as stored.
    fn apply(
        &self,
        kind: ChildKind,
        namespace: &str,
        name: &str,
        body: &Value,
        field_manager: &str,
    ) -> impl Future<Output = Result<Value, ClusterError>> + Send;

    /// Deletes the object if its uid is still `uid`, in the background.
    fn delete(
        &self,
        kind: ChildKind,
        namespace: &str,
        name: &str,
        uid: &str,
    ) -> impl Future<Output = Result<(), ClusterError>> + Send;

    /// JSON merge patch of the ModelBooster's `status` subresource.
    fn patch_status(
        &self,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> impl Future<Output = Result<(), ClusterError>> + Send;

    /// Publishes an event about `booster`; failures are logged by the implementation, never returned.
    fn publish(&self, booster: &ModelBooster, event: Event) -> impl Future<Output = ()> + Send;
}
