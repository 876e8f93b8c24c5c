//! One reconcile pass of a ModelBooster: apply, prune and status over a small cluster client trait.
//!
//! [`reconcile`] is the pass of spec §5.3. It talks to the cluster only through [`Cluster`], implemented for the
//! API server by [`KubeCluster`] and in memory by [`memory::InMemoryCluster`] for fast unit tests.

mod cluster;
mod kinds;
mod kube_cluster;
pub mod memory;
mod plan;
mod reconcile;
mod status;

pub use cluster::{Cluster, ClusterError, Event, FIELD_MANAGER, REPLICAS_FIELD_MANAGER};
pub use kinds::ChildKind;
pub use kube_cluster::KubeCluster;
pub use reconcile::{Outcome, ReconcileError, Report, reconcile};
