//! Invariants of the children of a valid ModelBooster (spec §2.7, §4.1, §4.2).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use booster_api::ModelBooster;
use booster_api::labels::{BACKEND_NAME, MANAGED_BY, MANAGED_BY_VALUE, MODEL_NAME, MODEL_UID, REVISION};
use booster_render::{Settings, render};
use regex::Regex;
use serde_json::{Value, json};

use super::schema;

fn dns_label() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").expect("a regex"))
}

fn label_value() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$").expect("a regex"))
}

fn is_dns_label(s: &str) -> bool {
    s.len() <= 63 && dns_label().is_match(s)
}

fn is_label_value(s: &str) -> bool {
    s.len() <= 63 && label_value().is_match(s)
}

/// A rendered child: its kind and its JSON.
pub struct Rendered {
    pub kind: &'static str,
    pub value: Value,
}

/// Renders `m` with the default settings, as JSON values in render order.
pub fn render_json(m: &ModelBooster) -> Result<Vec<Rendered>, String> {
    let children = render(m, &Settings::default()).map_err(|e| format!("render failed: {e}"))?;
    children
        .into_vec()
        .into_iter()
        .map(|child| {
            let value = child.to_value().map_err(|e| format!("{} {}: {e}", child.kind(), child.name()))?;
            Ok(Rendered { kind: child.kind(), value })
        })
        .collect()
}

/// The children's JSON text, for byte comparison.
pub fn render_text(m: &ModelBooster) -> Result<String, String> {
    let children = render_json(m)?;
    let values: Vec<&Value> = children.iter().map(|c| &c.value).collect();
    serde_json::to_string(&values).map_err(|e| e.to_string())
}

/// Every invariant of §4.2 and the reference CRD schemas over the children of `m`; the violations, or nothing.
pub fn child_violations(m: &ModelBooster, children: &[Rendered]) -> Vec<String> {
    let mut out = Vec::new();
    let name = m.metadata.name.as_deref().unwrap_or_default();
    let namespace = m.metadata.namespace.as_deref().unwrap_or_default();
    let uid = m.metadata.uid.as_deref().unwrap_or_default();
    let backends: Vec<&str> = m.spec.backends.iter().map(|b| b.name.as_str()).collect();
    let model_level = m.spec.autoscaling_policy.is_some();

    // Kinds and order (§4.1).
    let mut expected = vec!["ModelServing"; backends.len()];
    expected.extend(vec!["ModelServer"; backends.len()]);
    expected.push("ModelRoute");
    let pairs = if model_level { 1 } else { m.spec.backends.iter().filter(|b| b.autoscaling_policy.is_some()).count() };
    for _ in 0..pairs {
        expected.extend(["AutoscalingPolicy", "AutoscalingPolicyBinding"]);
    }
    let kinds: Vec<&str> = children.iter().map(|c| c.kind).collect();
    if kinds != expected {
        out.push(format!("kinds {kinds:?}, expected {expected:?}"));
    }

    for child in children {
        let v = &child.value;
        let child_name = v["metadata"]["name"].as_str().unwrap_or_default();
        let at = format!("{} {child_name:?}", child.kind);
        let mut fail = |msg: String| out.push(format!("{at}: {msg}"));

        for violation in schema::schemas().violations(child.kind, v) {
            fail(format!("reference CRD schema: {violation}"));
        }
        let group = if matches!(child.kind, "ModelServer" | "ModelRoute") {
            "networking.serving.volcano.sh"
        } else {
            "workload.serving.volcano.sh"
        };
        if v["apiVersion"] != json!(format!("{group}/v1alpha1")) || v["kind"] != json!(child.kind) {
            fail(format!("apiVersion {} kind {}", v["apiVersion"], v["kind"]));
        }

        // Metadata: name, namespace, owner reference (D-5), exactly the five labels (§4.2), nothing else.
        if !is_dns_label(child_name) {
            fail("name is not a DNS-1123 label".into());
        }
        if v["metadata"]["namespace"] != json!(namespace) {
            fail(format!("namespace {}", v["metadata"]["namespace"]));
        }
        let owner = json!([{
            "apiVersion": "workload.serving.volcano.sh/v1alpha1",
            "kind": "ModelBooster",
            "name": name,
            "uid": uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }]);
        if v["metadata"]["ownerReferences"] != owner {
            fail(format!("ownerReferences {}", v["metadata"]["ownerReferences"]));
        }
        let meta_keys: Vec<&String> = v["metadata"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
        if meta_keys != ["labels", "name", "namespace", "ownerReferences"] {
            fail(format!("metadata keys {meta_keys:?}"));
        }
        let labels: BTreeMap<String, String> =
            serde_json::from_value(v["metadata"]["labels"].clone()).unwrap_or_default();
        let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
        let mut five = [BACKEND_NAME, MANAGED_BY, MODEL_NAME, MODEL_UID, REVISION];
        five.sort_unstable();
        if keys != five {
            fail(format!("label keys {keys:?}"));
        }
        for (key, value) in &labels {
            if !is_label_value(value) {
                fail(format!("label {key}={value:?} is not a valid label value"));
            }
        }
        let label = |key: &str| labels.get(key).map(String::as_str).unwrap_or_default();
        if label(MODEL_NAME) != name || label(MODEL_UID) != uid || label(MANAGED_BY) != MANAGED_BY_VALUE {
            fail(format!("labels {labels:?}"));
        }
        let revision = label(REVISION);
        if revision.len() != 10 || !revision.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            fail(format!("revision {revision:?} is not 10 lowercase hex digits (D-15)"));
        }
        let backend = label(BACKEND_NAME);
        let model_scoped = child.kind == "ModelRoute" || (child.kind.starts_with("Autoscaling") && model_level);
        let expected_name = if model_scoped {
            if !backend.is_empty() {
                fail(format!("backend-name {backend:?} on a model-level child"));
            }
            name.to_owned()
        } else {
            if !backends.contains(&backend) {
                fail(format!("backend-name {backend:?} is no backend"));
            }
            format!("{name}-{backend}")
        };
        if child_name != expected_name {
            fail(format!("name, expected {expected_name:?}"));
        }

        // Every label map anywhere (template labels, selectors, PD group labels): valid keys and values.
        let mut label_maps = Vec::new();
        collect_label_maps(v, &mut label_maps);
        for (key, value) in label_maps {
            if !is_label_key(&key) || !is_label_value(&value) {
                fail(format!("label {key}={value:?} is not a valid label"));
            }
        }

        // Containers anywhere (pod templates): DNS-1123 labels.
        let mut container_names = Vec::new();
        collect_container_names(v, &mut container_names);
        for container in container_names {
            if !is_dns_label(&container) {
                fail(format!("container name {container:?} is not a DNS-1123 label"));
            }
        }

        // Pod templates: exactly the five labels of the object, same revision (D-6).
        if child.kind == "ModelServing" {
            let roles = v["spec"]["template"]["roles"].as_array().cloned().unwrap_or_default();
            if roles.is_empty() {
                fail("no roles".into());
            }
            for role in &roles {
                let role_name = role["name"].as_str().unwrap_or_default();
                for template in ["entryTemplate", "workerTemplate"] {
                    let Some(t) = role.get(template) else { continue };
                    let metadata = &t["metadata"];
                    if metadata != &json!({"labels": labels}) {
                        fail(format!("role {role_name} {template}.metadata {metadata}, expected the object's labels"));
                    }
                }
            }
        }
    }
    out
}

/// Entries of every map of labels: `labels`, `matchLabels`, `additionalMatchLabels`, `prefillLabels`,
/// `decodeLabels`.
fn collect_label_maps(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (key, child) in map {
                if matches!(
                    key.as_str(),
                    "labels" | "matchLabels" | "additionalMatchLabels" | "prefillLabels" | "decodeLabels"
                ) && let Value::Object(labels) = child
                {
                    out.extend(labels.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("<not a string>").into())));
                }
                collect_label_maps(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_label_maps(i, out)),
        _ => {}
    }
}

/// A qualified label key: an optional DNS-1123 subdomain prefix and `/`, then a name of at most 63 characters.
fn is_label_key(key: &str) -> bool {
    static SUBDOMAIN: OnceLock<Regex> = OnceLock::new();
    let subdomain = SUBDOMAIN.get_or_init(|| {
        Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").expect("a regex")
    });
    let (prefix, name) = key.rsplit_once('/').map_or((None, key), |(p, n)| (Some(p), n));
    prefix.is_none_or(|p| p.len() <= 253 && subdomain.is_match(p)) && !name.is_empty() && is_label_value(name)
}

fn collect_container_names(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (key, child) in map {
                if matches!(key.as_str(), "containers" | "initContainers")
                    && let Value::Array(containers) = child
                {
                    out.extend(containers.iter().map(|c| c["name"].as_str().unwrap_or("<missing>").to_owned()));
                }
                collect_container_names(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_container_names(i, out)),
        _ => {}
    }
}

/// The revision label of a child.
pub fn revision(child: &Value) -> &str {
    child["metadata"]["labels"][REVISION].as_str().unwrap_or_default()
}

/// The ModelServing of backend `index` without `spec.replicas` (which is not part of the revision, D-15).
pub fn serving_without_replicas(children: &[Rendered], index: usize) -> Value {
    let mut serving =
        children.iter().filter(|c| c.kind == "ModelServing").nth(index).expect("a ModelServing").value.clone();
    if let Some(spec) = serving["spec"].as_object_mut() {
        spec.remove("replicas");
    }
    serving
}
