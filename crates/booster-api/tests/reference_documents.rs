//! The reference project's documents decode into our types: its ModelBooster examples and conversion inputs
//! strictly, and its expected children strictly and without losing a field.

use std::fs;
use std::path::{Path, PathBuf};

use booster_api::strict::{self, DecodeError};
use booster_api::{AutoscalingPolicy, AutoscalingPolicyBinding, ModelBooster, ModelRoute, ModelServer, ModelServing};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/kthena-v0.1.0")
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(reference_dir().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn examples_and_conversion_inputs_decode_strictly() {
    let files: Vec<PathBuf> = yaml_files("examples").into_iter().chain(yaml_files("convert/input")).collect();
    assert_eq!(files.len(), 8);
    for file in files {
        let text = fs::read_to_string(&file).expect("readable");
        let boosters: Vec<ModelBooster> =
            strict::decode_all(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(boosters.len(), 1, "{}", file.display());
    }
}

#[test]
fn a_misspelled_field_is_an_error_naming_its_path() {
    let text = fs::read_to_string(reference_dir().join("convert/input/model.yaml")).expect("readable");
    let misspelled = text.replace("cacheURI:", "cacheUri:");
    assert_eq!(
        strict::decode_all::<ModelBooster>(&misspelled),
        Err(DecodeError::UnknownField { path: "spec.backends[0].cacheUri".into() })
    );
    let inside_a_kubernetes_type = text.replace("secretRef:", "secretref:");
    assert_eq!(
        strict::decode_all::<ModelBooster>(&inside_a_kubernetes_type),
        Err(DecodeError::UnknownField { path: "spec.backends[0].envFrom[0].secretref".into() })
    );
}

#[test]
fn a_wrong_kind_or_version_is_an_error() {
    let text = fs::read_to_string(reference_dir().join("convert/input/model.yaml")).expect("readable");
    let error = strict::decode_all::<ModelBooster>(&text.replace("kind: ModelBooster", "kind: Model")).unwrap_err();
    assert!(matches!(error, DecodeError::WrongKind { ref kind, .. } if kind == "Model"), "{error}");
    let error =
        strict::decode_all::<ModelBooster>(&text.replace("serving.volcano.sh/v1alpha1", "serving.volcano.sh/v1"))
            .unwrap_err();
    assert!(error.to_string().contains("expected apiVersion workload.serving.volcano.sh/v1alpha1"), "{error}");
}

/// Decodes the fixture strictly into `K` and checks that serializing it back keeps every field of the fixture.
fn round_trip<K: DeserializeOwned + Serialize + kube::Resource<DynamicType = ()>>(file: &str) {
    let text = fs::read_to_string(reference_dir().join("convert/expected").join(file)).expect("readable");
    let mut fixture: Value = serde_yaml::from_str(&text).expect("YAML");
    fix_artifacts(&mut fixture);
    let document: serde_yaml::Value = serde_yaml::to_value(&fixture).expect("as YAML value");
    let object: K = strict::decode(document).unwrap_or_else(|e| panic!("{file}: {e}"));
    let back = serde_json::to_value(&object).expect("serializes");
    let mut lost = Vec::new();
    missing_fields("", &fixture, &back, &mut lost);
    assert!(lost.is_empty(), "{file}: fields lost in the round trip: {lost:?}");
}

/// Spec §6.2 and N-2, on the test's copy only.
fn fix_artifacts(value: &mut Value) {
    fn visit(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(env_from) = map.remove("envfrom") {
                    map.insert("envFrom".into(), env_from);
                }
                if let Some(Value::Object(target)) = map.get_mut("target") {
                    target.remove("metricFrom");
                }
                map.values_mut().for_each(visit);
            }
            Value::Array(items) => items.iter_mut().for_each(visit),
            _ => {}
        }
    }
    visit(value);
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
}

/// Paths of `original` that are absent or different in `back` (quantities may turn from integers into strings).
fn missing_fields(path: &str, original: &Value, back: &Value, lost: &mut Vec<String>) {
    match (original, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                match b.get(key) {
                    Some(other) => missing_fields(&format!("{path}.{key}"), value, other, lost),
                    None => lost.push(format!("{path}.{key}")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                missing_fields(&format!("{path}[{i}]"), x, y, lost);
            }
        }
        (Value::Number(n), Value::String(s)) if n.to_string() == *s => {}
        _ if original != back => lost.push(format!("{path}: {original} became {back}")),
        _ => {}
    }
}

#[test]
fn expected_model_servings_round_trip() {
    round_trip::<ModelServing>("model-serving.yaml");
    round_trip::<ModelServing>("disaggregated-model-serving.yaml");
}

#[test]
fn expected_model_servers_round_trip() {
    round_trip::<ModelServer>("model-server.yaml");
    round_trip::<ModelServer>("pd-model-server.yaml");
}

#[test]
fn expected_model_routes_round_trip() {
    for file in ["model-route.yaml", "model-route-subset.yaml", "model-route-loras-subset.yaml"] {
        round_trip::<ModelRoute>(file);
    }
}

#[test]
fn expected_autoscaling_objects_round_trip() {
    round_trip::<AutoscalingPolicy>("scaling-asp.yaml");
    round_trip::<AutoscalingPolicy>("optimize-asp.yaml");
    round_trip::<AutoscalingPolicyBinding>("scaling-asp-binding.yaml");
    round_trip::<AutoscalingPolicyBinding>("optimize-asp-binding.yaml");
}

#[test]
fn the_unfixed_model_serving_fixture_is_rejected_by_the_strict_parser() {
    let text = fs::read_to_string(reference_dir().join("convert/expected/model-serving.yaml")).expect("readable");
    let error = strict::decode_all::<ModelServing>(&text).unwrap_err();
    assert!(matches!(&error, DecodeError::UnknownField { path } if path.ends_with("envfrom")), "{error}");
}
