//! Whether a desired child needs a write, and what to send (spec §5.4, D-21, D-22).

use booster_api::labels;
use serde_json::Value;

use crate::FIELD_MANAGER;

/// The writes one desired child needs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Write {
    /// D-22: apply `spec.replicas` with this value under the replicas manager first.
    pub handover_replicas: Option<Value>,
    /// The object to apply.
    pub body: Value,
}

/// The write a child needs, or `None` when the live object already holds everything we render.
///
/// `manage_replicas` is false for the ModelServing of an autoscaled backend: once it exists, its `spec.replicas`
/// belongs to the autoscaler.
pub(crate) fn plan(mut rendered: Value, live: Option<&Value>, manage_replicas: bool) -> Option<Write> {
    let Some(live) = live else { return Some(Write { handover_replicas: None, body: rendered }) };
    let mut handover_replicas = None;
    if !manage_replicas {
        if let Some(spec) = rendered.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("replicas");
        }
        if owns_replicas(live) {
            handover_replicas = live.pointer("/spec/replicas").filter(|v| !v.is_null()).cloned();
        }
    }
    let revision = |object: &Value| object.pointer(&format!("/metadata/labels/{}", escape(labels::REVISION))).cloned();
    let needed = handover_replicas.is_some() || revision(&rendered) != revision(live) || !contained(&rendered, live);
    needed.then_some(Write { handover_replicas, body: rendered })
}

/// Whether our apply manager owns `spec.replicas` of the live object.
fn owns_replicas(live: &Value) -> bool {
    live.pointer("/metadata/managedFields").and_then(Value::as_array).into_iter().flatten().any(|entry| {
        entry["manager"] == FIELD_MANAGER
            && entry["operation"] == "Apply"
            && entry.pointer("/fieldsV1/f:spec/f:replicas").is_some()
    })
}

/// JSON-pointer escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Whether `want` is contained in `have`: every key of a map present with a contained value; the elements of a list
/// appear, each contained, in the other list in the same order (others may be interleaved); scalars equal.
pub(crate) fn contained(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(want), Value::Object(have)) => {
            want.iter().all(|(key, value)| have.get(key).is_some_and(|other| contained(value, other)))
        }
        (Value::Array(want), Value::Array(have)) => {
            let mut remaining = have.iter();
            want.iter().all(|value| remaining.any(|other| contained(value, other)))
        }
        _ => want == have,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn serving(replicas: i64, image: &str) -> Value {
        json!({
            "apiVersion": "workload.serving.volcano.sh/v1alpha1",
            "kind": "ModelServing",
            "metadata": {"name": "m-b", "namespace": "ns", "labels": {"workload.serving.volcano.sh/revision": "r1"}},
            "spec": {"replicas": replicas, "template": {"roles": [{"name": "leader", "image": image}]}},
        })
    }

    fn live(rendered: &Value, replicas: i64, replicas_owner: &str) -> Value {
        let mut live = rendered.clone();
        live["spec"]["replicas"] = json!(replicas);
        live["spec"]["template"]["restartGracePeriodSeconds"] = json!(0);
        if let Some(roles) = live["spec"]["template"]["roles"].as_array_mut() {
            roles.push(json!({"name": "added-by-someone"}));
        }
        live["metadata"]["labels"]["extra"] = json!("x");
        live["metadata"]["managedFields"] = json!([
            {"manager": replicas_owner, "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        ]);
        live
    }

    #[test]
    fn containment_allows_additions_but_not_changes() {
        assert!(contained(&json!({"a": [1, 3]}), &json!({"a": [0, 1, 2, 3], "b": 1})));
        assert!(!contained(&json!({"a": [3, 1]}), &json!({"a": [1, 2, 3]})));
        assert!(!contained(&json!({"a": {"b": 1}}), &json!({"a": {"b": 2}})));
        assert!(!contained(&json!({"a": 1}), &json!({})));
        assert!(contained(&json!({"a": {}}), &json!({"a": {"x": 1}})));
    }

    #[test]
    fn absent_child_is_created_with_replicas() {
        let rendered = serving(2, "v1");
        assert_eq!(plan(rendered.clone(), None, false), Some(Write { handover_replicas: None, body: rendered }));
    }

    #[test]
    fn unchanged_child_needs_no_write() {
        let rendered = serving(2, "v1");
        assert_eq!(plan(rendered.clone(), Some(&live(&rendered, 2, "someone")), true), None);
    }

    #[test]
    fn drift_of_a_rendered_field_is_restored() {
        let rendered = serving(2, "v1");
        let mut drifted = live(&rendered, 2, "someone");
        drifted["spec"]["template"]["roles"][0]["image"] = json!("hacked");
        assert!(plan(rendered, Some(&drifted), true).is_some());
    }

    #[test]
    fn not_autoscaled_replicas_are_reset() {
        let rendered = serving(2, "v1");
        assert!(plan(rendered.clone(), Some(&live(&rendered, 5, "autoscaler")), true).is_some());
    }

    #[test]
    fn autoscaled_replicas_set_by_others_are_left_alone() {
        let rendered = serving(2, "v1");
        assert_eq!(plan(rendered.clone(), Some(&live(&rendered, 5, "autoscaler")), false), None);
    }

    #[test]
    fn autoscaled_replicas_we_own_are_handed_over_first() {
        let rendered = serving(2, "v1");
        let Some(write) = plan(rendered.clone(), Some(&live(&rendered, 2, FIELD_MANAGER)), false) else {
            panic!("the hand-over needs a write")
        };
        assert_eq!(write.handover_replicas, Some(json!(2)));
        assert!(write.body["spec"].get("replicas").is_none());
    }

    #[test]
    fn a_changed_revision_is_always_written() {
        let rendered = serving(2, "v1");
        let mut old = live(&rendered, 2, "someone");
        old["metadata"]["labels"]["workload.serving.volcano.sh/revision"] = json!("r0");
        assert!(plan(rendered, Some(&old), true).is_some());
    }
}
