//! The status a pass computes (spec §5.7, D-24) and the events its changes emit (§5.9).

use std::collections::BTreeMap;

use booster_api::{BackendStatus, ModelBooster, ModelBoosterStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use crate::Event;

/// Condition type: the first pass applied every child.
pub const INITIALIZED: &str = "Initialized";
/// Condition type: every backend's ModelServing is available.
pub const ACTIVE: &str = "Active";
/// Condition type: the last pass failed for a reason that retrying does not fix.
pub const FAILED: &str = "Failed";

const READY_MESSAGE: &str = "ModelBooster is ready";
const NOT_READY_MESSAGE: &str = "ModelBooster not ready yet";
/// Events carry at most this many bytes of a message.
const EVENT_NOTE_LIMIT: usize = 1024;

/// What a pass observed, from which the status follows.
pub(crate) struct Observation<'a> {
    /// The pass applied every desired child.
    pub applied_all: bool,
    /// Why the pass failed, if it failed for a non-transient reason.
    pub failure: Option<String>,
    /// The ModelBooster's live ModelServings by name.
    pub servings: &'a BTreeMap<String, Value>,
}

/// The status after a pass over `booster`.
pub(crate) fn compute(booster: &ModelBooster, observed: &Observation<'_>, now: Timestamp) -> ModelBoosterStatus {
    let old = booster.status.clone().unwrap_or_default();
    let generation = booster.metadata.generation;
    let name = booster.metadata.name.as_deref().unwrap_or_default();
    let serving_of = |backend: &str| observed.servings.get(&format!("{name}-{backend}"));
    let available = !booster.spec.backends.is_empty()
        && booster.spec.backends.iter().all(|b| serving_of(&b.name).is_some_and(is_available));

    let mut conditions = Vec::new();
    let initialized = old.conditions.iter().find(|c| c.type_ == INITIALIZED);
    if let Some(initialized) = initialized.cloned() {
        conditions.push(Condition { observed_generation: generation, ..initialized });
    } else if observed.applied_all {
        conditions.push(condition(INITIALIZED, true, "ModelCreating", "ModelBooster initialized", generation));
    }
    conditions.push(if available {
        condition(ACTIVE, true, "ModelAvailable", READY_MESSAGE, generation)
    } else {
        condition(ACTIVE, false, "ModelProcessing", NOT_READY_MESSAGE, generation)
    });
    if let Some(message) = &observed.failure {
        conditions.push(condition(FAILED, true, "ModelAbnormal", message, generation));
    }
    let now = Time(Timestamp::from_second(now.as_second()).unwrap_or(now));
    for condition in &mut conditions {
        condition.last_transition_time = match old.conditions.iter().find(|c| c.type_ == condition.type_) {
            Some(previous) if previous.status == condition.status => previous.last_transition_time.clone(),
            _ => now.clone(),
        };
    }

    let backend_statuses: Vec<BackendStatus> = booster
        .spec
        .backends
        .iter()
        .filter_map(|b| {
            let serving = serving_of(&b.name)?;
            let replicas = serving.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or_default();
            Some(BackendStatus {
                name: format!("{name}-{}", b.name),
                replicas: i32::try_from(replicas).unwrap_or(i32::MAX),
            })
        })
        .collect();
    ModelBoosterStatus {
        conditions,
        backend_statuses: (!backend_statuses.is_empty()).then_some(backend_statuses),
        observed_generation: generation,
    }
}

fn condition(type_: &str, status: bool, reason: &str, message: &str, generation: Option<i64>) -> Condition {
    Condition {
        type_: type_.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: Time(Timestamp::UNIX_EPOCH),
    }
}

fn is_available(serving: &Value) -> bool {
    serving
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Available" && c["status"] == "True")
}

/// The JSON merge patch that replaces the whole status: absent fields are sent as `null`.
pub(crate) fn merge_patch(status: &ModelBoosterStatus) -> Value {
    json!({
        "status": {
            "conditions": status.conditions,
            "backendStatuses": status.backend_statuses,
            "observedGeneration": status.observed_generation,
        }
    })
}

/// Events for the condition changes from `old` to `new`.
pub(crate) fn events(old: &ModelBoosterStatus, new: &ModelBoosterStatus) -> Vec<Event> {
    let find =
        |status: &'_ ModelBoosterStatus, type_: &str| status.conditions.iter().find(|c| c.type_ == type_).cloned();
    let mut events = Vec::new();
    if let Some(failed) = find(new, FAILED)
        && find(old, FAILED).is_none_or(|previous| previous.message != failed.message)
    {
        events.push(Event {
            warning: true,
            reason: "Failed",
            note: truncate(&failed.message, EVENT_NOTE_LIMIT),
            related: None,
        });
    }
    let active = |status: &ModelBoosterStatus| find(status, ACTIVE).is_some_and(|c| c.status == "True");
    match (active(old), active(new)) {
        (false, true) => {
            events.push(Event { warning: false, reason: "Active", note: READY_MESSAGE.into(), related: None })
        }
        (true, false) => {
            events.push(Event { warning: false, reason: "Inactive", note: NOT_READY_MESSAGE.into(), related: None })
        }
        _ => {}
    }
    events
}

fn truncate(text: &str, limit: usize) -> String {
    let mut end = limit.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
