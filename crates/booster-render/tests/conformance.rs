//! Conformance with the reference's own conversion fixtures (spec §6): each input renders to objects equal to the
//! expected files after exactly the documented fixture fixes (A-n), normalisations (N-n) and deviation transforms
//! (T-n). A fix or transform that changes nothing fails, so stale normalisations are caught.

mod common;

use booster_render::{Settings, render};
use serde_json::{Map, Value, json};

use common::{reference_dir, strict_model_booster};

const REVISION: &str = "workload.serving.volcano.sh/revision";
const BACKEND_NAME: &str = "workload.serving.volcano.sh/backend-name";

/// A fixture fix or deviation transform applied to the expected value only.
#[derive(Clone, Copy, Debug)]
enum Fix {
    A1EnvFrom,
    A2MetricFrom,
    A3Defaults,
    T3Quote,
    T5OwnerFlags,
    T6TemplateLabels,
    T7BackendSelector,
    T8TopologySelector,
    T10Replicas,
    T19MetricEndpoint,
}

struct Row {
    expected: &'static str,
    input: &'static str,
    kind: &'static str,
    name: &'static str,
    fixes: &'static [Fix],
}

const ROWS: &[Row] = &[
    Row {
        expected: "model-serving.yaml",
        input: "model.yaml",
        kind: "ModelServing",
        name: "test-model-backend1",
        fixes: &[
            Fix::A1EnvFrom,
            Fix::T3Quote,
            Fix::T5OwnerFlags,
            Fix::T6TemplateLabels,
            Fix::T8TopologySelector,
            Fix::T10Replicas,
        ],
    },
    Row {
        expected: "disaggregated-model-serving.yaml",
        input: "pd-disaggregated-model.yaml",
        kind: "ModelServing",
        name: "ds-r1-qwen-7b-pd-ds-r1-qwen-7b-pd",
        fixes: &[Fix::T5OwnerFlags, Fix::T6TemplateLabels],
    },
    Row {
        expected: "model-server.yaml",
        input: "model.yaml",
        kind: "ModelServer",
        name: "test-model-backend1",
        fixes: &[Fix::T7BackendSelector],
    },
    Row {
        expected: "pd-model-server.yaml",
        input: "pd-disaggregated-model.yaml",
        kind: "ModelServer",
        name: "ds-r1-qwen-7b-pd-ds-r1-qwen-7b-pd",
        fixes: &[Fix::T7BackendSelector],
    },
    Row {
        expected: "model-route.yaml",
        input: "model.yaml",
        kind: "ModelRoute",
        name: "test-model",
        fixes: &[Fix::A3Defaults, Fix::T5OwnerFlags],
    },
    Row {
        expected: "model-route-subset.yaml",
        input: "multi-backends-model.yaml",
        kind: "ModelRoute",
        name: "multi-backend-model",
        fixes: &[Fix::T5OwnerFlags],
    },
    Row {
        expected: "model-route-loras-subset.yaml",
        input: "multi-lora-model.yaml",
        kind: "ModelRoute",
        name: "multi-backend-model",
        fixes: &[Fix::T5OwnerFlags],
    },
    Row {
        expected: "scaling-asp.yaml",
        input: "model.yaml",
        kind: "AutoscalingPolicy",
        name: "test-model-backend1",
        fixes: &[Fix::A3Defaults],
    },
    Row {
        expected: "scaling-asp-binding.yaml",
        input: "model.yaml",
        kind: "AutoscalingPolicyBinding",
        name: "test-model-backend1",
        fixes: &[Fix::A2MetricFrom, Fix::T19MetricEndpoint],
    },
    Row {
        expected: "optimize-asp.yaml",
        input: "multi-backends-model.yaml",
        kind: "AutoscalingPolicy",
        name: "multi-backend-model",
        fixes: &[Fix::A3Defaults],
    },
    Row {
        expected: "optimize-asp-binding.yaml",
        input: "multi-backends-model.yaml",
        kind: "AutoscalingPolicyBinding",
        name: "multi-backend-model",
        fixes: &[Fix::A2MetricFrom, Fix::T19MetricEndpoint],
    },
];

macro_rules! conformance {
    ($($test:ident => $expected:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            check(ROWS.iter().find(|row| row.expected == $expected).expect("row of the table"));
        }
    )*};
}

conformance! {
    model_serving => "model-serving.yaml",
    disaggregated_model_serving => "disaggregated-model-serving.yaml",
    model_server => "model-server.yaml",
    pd_model_server => "pd-model-server.yaml",
    model_route => "model-route.yaml",
    model_route_subset => "model-route-subset.yaml",
    model_route_loras_subset => "model-route-loras-subset.yaml",
    scaling_asp => "scaling-asp.yaml",
    scaling_asp_binding => "scaling-asp-binding.yaml",
    optimize_asp => "optimize-asp.yaml",
    optimize_asp_binding => "optimize-asp-binding.yaml",
}

#[test]
fn every_expected_file_has_a_row() {
    let mut files: Vec<String> = std::fs::read_dir(reference_dir().join("convert/expected"))
        .expect("expected fixtures")
        .map(|entry| entry.expect("dir entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut rows: Vec<&str> = ROWS.iter().map(|row| row.expected).collect();
    rows.sort();
    assert_eq!(files, rows);
}

fn check(row: &Row) {
    let input_path = reference_dir().join("convert/input").join(row.input);
    let input_text = std::fs::read_to_string(&input_path).expect("input fixture");
    let booster = strict_model_booster(&input_text);
    let children = render(&booster, &Settings::default()).expect("reference inputs render");
    let mut ours = children
        .into_vec()
        .into_iter()
        .find(|child| child.kind() == row.kind && child.name() == row.name)
        .unwrap_or_else(|| panic!("no rendered {} {}", row.kind, row.name))
        .to_value()
        .expect("child as JSON");
    let expected_text =
        std::fs::read_to_string(reference_dir().join("convert/expected").join(row.expected)).expect("expected fixture");
    let mut expected: Value = serde_yaml::from_str(&expected_text).expect("expected fixture is YAML");
    let input: Value = serde_yaml::from_str(&input_text).expect("input is YAML");

    for fix in row.fixes.iter().filter(|fix| is_artifact(**fix)) {
        apply(*fix, &mut expected, &input);
    }
    check_revision(&ours);
    for value in [&mut ours, &mut expected] {
        normalise(value);
    }
    for fix in row.fixes.iter().filter(|fix| !is_artifact(**fix)) {
        apply(*fix, &mut expected, &input);
    }

    let mut differences = Vec::new();
    diff("", &expected, &ours, &mut differences);
    assert!(
        differences.is_empty(),
        "{} differs from the rendered {} {}:\n{}",
        row.expected,
        row.kind,
        row.name,
        differences.join("\n")
    );
}

fn is_artifact(fix: Fix) -> bool {
    matches!(fix, Fix::A1EnvFrom | Fix::A2MetricFrom | Fix::A3Defaults)
}

/// Applies `fix` to the expected value and asserts that it changed something.
fn apply(fix: Fix, expected: &mut Value, input: &Value) {
    let before = expected.clone();
    match fix {
        Fix::A1EnvFrom => visit_objects(expected, &mut |map| {
            if let Some(value) = map.remove("envfrom") {
                map.insert("envFrom".into(), value);
            }
        }),
        Fix::A2MetricFrom => visit_objects(expected, &mut |map| {
            if let Some(Value::Object(target)) = map.get_mut("target") {
                target.remove("metricFrom");
            }
        }),
        Fix::A3Defaults => {
            let spec = &mut expected["spec"];
            if let Some(rules) = spec.get_mut("rules").and_then(Value::as_array_mut) {
                for target in rules.iter_mut().flat_map(|r| r["targetModels"].as_array_mut().into_iter().flatten()) {
                    target.as_object_mut().expect("target").entry("weight").or_insert(json!(100));
                }
            } else {
                spec.as_object_mut().expect("spec").entry("tolerancePercent").or_insert(json!(10));
            }
        }
        Fix::T3Quote => t3_quote(expected),
        Fix::T5OwnerFlags => {
            for owner in expected["metadata"]["ownerReferences"].as_array_mut().expect("owner references") {
                owner["controller"] = json!(true);
                owner["blockOwnerDeletion"] = json!(true);
            }
        }
        Fix::T6TemplateLabels => {
            let labels = expected["metadata"]["labels"].clone();
            for role in expected["spec"]["template"]["roles"].as_array_mut().expect("roles") {
                for template in ["entryTemplate", "workerTemplate"] {
                    if let Some(template) = role.get_mut(template).and_then(Value::as_object_mut) {
                        template.insert("metadata".into(), json!({ "labels": labels }));
                    }
                }
            }
        }
        Fix::T7BackendSelector => {
            let backend = expected["metadata"]["labels"][BACKEND_NAME].clone();
            expected["spec"]["workloadSelector"]["matchLabels"][BACKEND_NAME] = backend;
        }
        Fix::T8TopologySelector => {
            let name = expected["metadata"]["name"].clone();
            for constraint in expected["spec"]["topologySpreadConstraints"].as_array_mut().expect("constraints") {
                constraint["labelSelector"]["matchLabels"]["modelserving.volcano.sh/name"] = name.clone();
            }
        }
        Fix::T10Replicas => {
            for worker in input["spec"]["backends"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|b| b["workers"].as_array().into_iter().flatten())
            {
                if worker.get("replicas").is_some() {
                    continue;
                }
                let role = match worker["type"].as_str().unwrap_or("server") {
                    "server" => "leader",
                    other => other,
                };
                let template = &mut expected["spec"]["template"];
                template["gangPolicy"]["minRoleReplicas"][role] = json!(1);
                for r in template["roles"].as_array_mut().expect("roles").iter_mut().filter(|r| r["name"] == role) {
                    r["replicas"] = json!(1);
                }
            }
        }
        Fix::T19MetricEndpoint => {
            let model = input["metadata"]["name"].as_str().expect("model name").to_owned();
            visit_objects(expected, &mut |map| {
                let Some(Value::Object(target)) = map.get_mut("target") else { return };
                let serving = target["targetRef"]["name"].as_str().expect("target name").to_owned();
                let backend = input["spec"]["backends"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|b| format!("{model}-{}", b["name"].as_str().unwrap_or_default()) == serving)
                    .expect("target backend");
                let port = backend["env"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|e| e["name"] == "RUNTIME_PORT")
                    .and_then(|e| e["value"].as_str()?.parse::<i64>().ok())
                    .unwrap_or(8100);
                target.insert("metricEndpoint".into(), json!({"uri": "/metrics", "port": port}));
            });
        }
    }
    assert_ne!(before, *expected, "{fix:?} changed nothing: the normalisation is stale");
}

/// T-3: `["bash", "-c", X, e3, …]` becomes `["bash", "-c", X + " " + quoted e3…]`.
fn t3_quote(expected: &mut Value) {
    visit_objects(expected, &mut |map| {
        let Some(Value::Array(command)) = map.get_mut("command") else { return };
        if command.len() <= 3 || command[0] != "bash" || command[1] != "-c" {
            return;
        }
        let script = command[2].as_str().expect("script").to_owned();
        let after_second_and = script.splitn(3, " && ").nth(2).expect("the script has two ` && `");
        assert!(
            after_second_and.split(' ').all(|word| quote(word) == word),
            "T-3 relies on the fixture's vLLM words being unchanged by quoting"
        );
        let rest: Vec<String> = command[3..].iter().map(|e| quote(e.as_str().expect("argument"))).collect();
        *command = vec![json!("bash"), json!("-c"), json!(format!("{script} {}", rest.join(" ")))];
    });
}

/// Python's `shlex.quote`, written independently of the implementation under test.
fn quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c)) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\"'\"'"))
    }
}

/// N-1 (second half): our revision is present, 10 hex characters, the same on the object and its pod templates.
fn check_revision(ours: &Value) {
    let revision = ours["metadata"]["labels"][REVISION].as_str().expect("revision label");
    assert!(
        revision.len() == 10 && revision.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{revision}"
    );
    for role in ours["spec"]["template"]["roles"].as_array().into_iter().flatten() {
        for template in ["entryTemplate", "workerTemplate"] {
            if let Some(t) = role.get(template) {
                assert_eq!(t["metadata"]["labels"][REVISION], revision, "{template} revision");
            }
        }
    }
}

/// N-1…N-4 on both sides.
fn normalise(value: &mut Value) {
    visit_objects(value, &mut |map| {
        if let Some(Value::Object(labels)) = map.get_mut("labels") {
            labels.remove(REVISION);
        }
    });
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    drop_zero_values(value);
    visit_objects(value, &mut |map| {
        if let Some(Value::Object(resources)) = map.get_mut("resources") {
            for list in ["requests", "limits"] {
                if let Some(Value::Object(quantities)) = resources.get_mut(list) {
                    quantities.values_mut().for_each(integer_to_string);
                }
            }
        }
        if let Some(target) = map.get_mut("targetValue") {
            integer_to_string(target);
        }
    });
}

/// N-3: delete keys whose value is an empty map, and `cost: 0`.
fn drop_zero_values(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(drop_zero_values);
            map.retain(|key, v| !(v.as_object().is_some_and(Map::is_empty) || (key == "cost" && *v == json!(0))));
        }
        Value::Array(items) => items.iter_mut().for_each(drop_zero_values),
        _ => {}
    }
}

fn integer_to_string(value: &mut Value) {
    if let Some(n) = value.as_i64() {
        *value = json!(n.to_string());
    }
}

/// Calls `f` on every object, parents before children.
fn visit_objects(value: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            f(map);
            map.values_mut().for_each(|v| visit_objects(v, f));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| visit_objects(v, f)),
        _ => {}
    }
}

/// Every path where `ours` differs from `expected`.
fn diff(path: &str, expected: &Value, ours: &Value, out: &mut Vec<String>) {
    match (expected, ours) {
        (Value::Object(e), Value::Object(o)) => {
            for (key, value) in e {
                match o.get(key) {
                    Some(other) => diff(&format!("{path}.{key}"), value, other, out),
                    None => out.push(format!("{path}.{key}: missing in ours (expected {value})")),
                }
            }
            for (key, value) in o.iter().filter(|(key, _)| !e.contains_key(*key)) {
                out.push(format!("{path}.{key}: only in ours ({value})"));
            }
        }
        (Value::Array(e), Value::Array(o)) if e.len() == o.len() => {
            for (i, (a, b)) in e.iter().zip(o).enumerate() {
                diff(&format!("{path}[{i}]"), a, b, out);
            }
        }
        _ if expected != ours => out.push(format!("{path}: expected {expected}, ours {ours}")),
        _ => {}
    }
}
