//! The reference CRD schemas (`../shared/reference/kthena-v0.1.0/crds/`) as JSON Schema validators.
//!
//! Each CRD's `spec.versions[0].schema.openAPIV3Schema` is compiled once, as Draft 4 (the base of OpenAPI v3.0
//! schemas), after making explicit what the API server enforces and a JSON Schema validator would not:
//!
//! - `x-kubernetes-int-or-string: true` without `type`/`anyOf` accepts an integer or a string only;
//! - `type: integer` with `format: int32`/`int64` is bounded to that range (formats only apply to strings in JSON
//!   Schema, so `format` alone checks nothing);
//! - an object with `properties` and neither `additionalProperties` nor `x-kubernetes-preserve-unknown-fields`
//!   rejects unknown fields: the API server would prune them, so a child field the reference CRD does not know
//!   would silently be lost.
//!
//! `x-kubernetes-*` keys, `nullable` and CEL rules are otherwise ignored: the API server stays the authority.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

/// One compiled schema per child kind.
pub struct Schemas {
    by_kind: BTreeMap<String, Validator>,
}

/// The reference CRD directory.
pub fn crd_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/kthena-v0.1.0/crds")
}

/// The schemas, loaded and compiled on first use.
pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    // Parsing the 1.3 MB ModelServing CRD and compiling its schema recurse deeper than a test thread's stack
    // allows in a debug build: do it on a thread of its own.
    SCHEMAS.get_or_init(|| {
        std::thread::Builder::new()
            .name("load-crd-schemas".into())
            .stack_size(256 << 20)
            .spawn(load)
            .expect("a thread")
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

fn load() -> Schemas {
    let dir = crd_dir();
    let mut by_kind = BTreeMap::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let crd: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let kind = crd["spec"]["names"]["kind"].as_str().expect("spec.names.kind").to_owned();
        let mut schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
        assert!(schema.is_object(), "{}: no openAPIV3Schema", path.display());
        structural(&mut schema);
        let validator = jsonschema::options()
            .with_draft(Draft::Draft4)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{}: schema does not compile: {e}", path.display()));
        by_kind.insert(kind, validator);
    }
    for kind in ["ModelServing", "ModelServer", "ModelRoute", "AutoscalingPolicy", "AutoscalingPolicyBinding"] {
        assert!(by_kind.contains_key(kind), "no reference CRD for {kind} in {}", dir.display());
    }
    Schemas { by_kind }
}

/// Makes the API server's implicit rules explicit (see the module documentation), recursively through every
/// schema position.
fn structural(node: &mut Value) {
    let Some(schema) = node.as_object_mut() else { return };
    let is_true = |v: Option<&Value>| v == Some(&Value::Bool(true));
    if is_true(schema.get("x-kubernetes-int-or-string"))
        && !schema.contains_key("type")
        && !schema.contains_key("anyOf")
    {
        schema.insert("anyOf".into(), json!([{"type": "integer"}, {"type": "string"}]));
    }
    if schema.get("type") == Some(&json!("integer")) {
        let (min, max) = match schema.get("format").and_then(Value::as_str) {
            Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
            _ => (i64::MIN, i64::MAX),
        };
        schema.entry("minimum").or_insert(min.into());
        schema.entry("maximum").or_insert(max.into());
    }
    if schema.contains_key("properties")
        && !schema.contains_key("additionalProperties")
        && !is_true(schema.get("x-kubernetes-preserve-unknown-fields"))
    {
        schema.insert("additionalProperties".into(), Value::Bool(false));
    }
    for key in ["properties", "patternProperties", "definitions"] {
        if let Some(Value::Object(children)) = schema.get_mut(key) {
            children.values_mut().for_each(structural);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = schema.get_mut(key) {
            match child {
                Value::Array(items) => items.iter_mut().for_each(structural),
                child => structural(child),
            }
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(children)) = schema.get_mut(key) {
            children.iter_mut().for_each(structural);
        }
    }
}

impl Schemas {
    /// The schema violations of `child` (of kind `kind`), as `<instance path>: <message>` lines.
    pub fn violations(&self, kind: &str, child: &Value) -> Vec<String> {
        let Some(validator) = self.by_kind.get(kind) else {
            return vec![format!("no reference CRD schema for kind {kind}")];
        };
        validator.iter_errors(child).map(|e| format!("{}: {e}", e.instance_path())).collect()
    }
}
