//! The transition rules V-40 (spec §3.4): on an update, a backend keeps its type and the replicas of its server,
//! prefill and decode workers. Backends correlate by `name`, as the items of an `x-kubernetes-list-type: map`
//! list do for the API server's `oldSelf`; a backend without a counterpart in the old object is new and free.

use booster_api::{ModelBackend, ModelBooster, WorkerType};

use super::FieldError;

pub(crate) const V40_TYPE: &str = "type is immutable; use a new backend name to change it";
pub(crate) const V40_REPLICAS: &str = "replicas of server, prefill and decode workers are immutable (ModelServing gangPolicy.minRoleReplicas is immutable); use a new backend name to change them";

/// Appends the V-40 violations of the update `old` → `new`, by backend index of `new`.
pub(crate) fn check(old: &ModelBooster, new: &ModelBooster, errors: &mut Vec<FieldError>) {
    for (i, backend) in new.spec.backends.iter().enumerate() {
        // With duplicate names (rejected by the list-map uniqueness check) the first old backend is taken.
        let Some(previous) = old.spec.backends.iter().find(|b| b.name == backend.name) else {
            continue;
        };
        if backend.type_ != previous.type_ {
            errors.push(FieldError::new(format!("spec.backends[{i}].type"), V40_TYPE));
        }
        let roles = [WorkerType::Server, WorkerType::Prefill, WorkerType::Decode];
        if roles.iter().any(|&t| replicas(backend, t) != replicas(previous, t)) {
            errors.push(FieldError::new(format!("spec.backends[{i}].workers"), V40_REPLICAS));
        }
    }
}

/// `workers.filter(w, w.type == t).map(w, w.replicas)`.
fn replicas(b: &ModelBackend, t: WorkerType) -> Vec<i32> {
    b.workers.iter().filter(|w| w.type_ == t).map(|w| w.replicas).collect()
}
