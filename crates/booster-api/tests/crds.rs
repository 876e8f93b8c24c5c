//! The generated CRDs: structural schemas, no warned-about formats, and reviewed snapshots of their outlines.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use booster_api::crds;
use serde_json::Value;

/// Schema keys that carry structure rather than constraints.
const STRUCTURE: [&str; 4] = ["properties", "items", "additionalProperties", "description"];
/// Formats the API server knows (it warns about others).
const KNOWN_FORMATS: [&str; 4] = ["int32", "int64", "date-time", "byte"];
/// Properties holding Kubernetes core types embedded from k8s-openapi; outlines show them as one line.
const KUBERNETES_TYPES: [&str; 8] =
    ["env", "envFrom", "resources", "affinity", "conditions", "targetRef", "labelSelector", "spec"];

fn schemas() -> Vec<(String, Value)> {
    crds::all()
        .into_iter()
        .map(|crd| {
            let version = crd.spec.versions.first().expect("one version").clone();
            let schema = version.schema.and_then(|s| s.open_api_v3_schema).expect("a schema");
            (crd.metadata.name.unwrap_or_default(), serde_json::to_value(schema).expect("schema as JSON"))
        })
        .collect()
}

/// Every node of the schema with its path.
fn walk<'a>(path: String, node: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    out.push((path.clone(), node));
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        for (name, child) in properties {
            walk(format!("{path}.{name}"), child, out);
        }
    }
    if let Some(items) = node.get("items") {
        walk(format!("{path}[]"), items, out);
    }
    if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
        walk(format!("{path}{{}}"), values, out);
    }
}

#[test]
fn every_schema_is_structural() {
    for (crd, schema) in schemas() {
        let mut nodes = Vec::new();
        walk(String::new(), &schema, &mut nodes);
        for (path, node) in nodes {
            let map = node.as_object().expect("a schema node is an object");
            let typed = map.contains_key("type")
                || map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
                || map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            assert!(typed, "{crd}{path}: no type");
            for forbidden in ["$ref", "nullable", "oneOf", "allOf", "not", "uniqueItems"] {
                assert!(!map.contains_key(forbidden), "{crd}{path}: has {forbidden}");
            }
            if let Some(any_of) = map.get("anyOf") {
                assert_eq!(map.get("x-kubernetes-int-or-string"), Some(&Value::Bool(true)), "{crd}{path}: anyOf");
                for branch in any_of.as_array().expect("anyOf list") {
                    let keys: Vec<&String> = branch.as_object().expect("branch").keys().collect();
                    assert_eq!(keys, ["type"], "{crd}{path}: anyOf branches only name a type");
                }
            }
            assert!(
                !(map.contains_key("properties") && map.contains_key("additionalProperties")),
                "{crd}{path}: properties and additionalProperties"
            );
            if let Some(format) = map.get("format").and_then(Value::as_str) {
                assert!(KNOWN_FORMATS.contains(&format), "{crd}{path}: format {format}");
            }
        }
    }
}

#[test]
fn root_metadata_declares_only_name() {
    for (crd, schema) in schemas() {
        let metadata = &schema["properties"]["metadata"];
        if crd.starts_with("modelboosters.") {
            assert_eq!(metadata, &serde_json::json!({"type": "object", "properties": {"name": {"type": "string"}}}));
        } else {
            assert!(metadata.get("properties").is_none(), "{crd}");
        }
    }
}

/// One line per schema node: its path and every constraint; Kubernetes core types as one line with a digest.
fn outline(schema: &Value) -> String {
    let mut nodes = Vec::new();
    walk(String::new(), schema, &mut nodes);
    let mut lines = Vec::new();
    let mut collapsed: Option<String> = None;
    for (path, node) in nodes {
        if collapsed.as_ref().is_some_and(|prefix| path.starts_with(prefix.as_str())) {
            continue;
        }
        let last = path.rsplit('.').next().unwrap_or_default();
        let map = node.as_object().expect("object");
        if path.contains('.') && KUBERNETES_TYPES.contains(&last) && node.get("x-kubernetes-validations").is_none() {
            let mut hasher = DefaultHasher::new();
            node.to_string().hash(&mut hasher);
            lines.push(format!("{path}: kubernetes type {:?} digest {:016x}", map.get("type"), hasher.finish()));
            collapsed = Some(path);
            continue;
        }
        collapsed = None;
        let constraints: Vec<String> = map
            .iter()
            .filter(|(key, _)| !STRUCTURE.contains(&key.as_str()))
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        lines.push(format!("{}: {}", if path.is_empty() { "." } else { &path }, constraints.join(" ")));
    }
    lines.join("\n")
}

#[test]
fn crd_outlines() {
    for crd in crds::all() {
        let mut crd_json = serde_json::to_value(&crd).expect("CRD as JSON");
        let schema = crd_json["spec"]["versions"][0]["schema"]["openAPIV3Schema"].take();
        let name = crd.metadata.name.clone().unwrap_or_default();
        insta::assert_snapshot!(
            name.clone(),
            format!("{}\n---\n{}", serde_yaml::to_string(&crd_json).expect("YAML"), outline(&schema))
        );
    }
}
