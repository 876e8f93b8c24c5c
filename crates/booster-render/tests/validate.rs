//! Offline validation (spec §3): the rule cases of `testdata/validation/`, the expected results of the reference
//! inputs (spec §6.4), error order and collection, and the quantity and duration parsers.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use booster_api::ModelBooster;
use booster_api::strict;
use booster_render::quantity;
use booster_render::validate::duration;
use booster_render::{FieldError, ValidationErrors, validate, validate_update};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cases_dir() -> PathBuf {
    repo_root().join("testdata/validation")
}

fn reference_dir() -> PathBuf {
    repo_root().join("../shared/reference/kthena-v0.1.0")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn decode_all(text: &str, origin: &str) -> Vec<ModelBooster> {
    strict::decode_all::<ModelBooster>(text).unwrap_or_else(|e| panic!("{origin}: strict decode: {e}"))
}

fn decode(text: &str) -> ModelBooster {
    let mut docs = decode_all(text, "inline document");
    assert_eq!(docs.len(), 1, "one document expected");
    docs.remove(0)
}

fn errors_of(m: &ModelBooster) -> Vec<FieldError> {
    validate(m).err().map(|e| e.0).unwrap_or_default()
}

fn err(path: &str, message: &str) -> FieldError {
    FieldError::new(path, message)
}

/// One file of `testdata/validation/`.
struct Case {
    file: String,
    rule: u32,
    expected: Vec<FieldError>,
    update: bool,
    documents: Vec<ModelBooster>,
}

fn header<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    let prefix = format!("# {key}: ");
    text.lines().filter_map(|l| l.strip_prefix(prefix.as_str())).collect()
}

fn load_case(path: &Path) -> Case {
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_owned();
    let text = read(path);
    let single = |key: &str| {
        let values = header(&text, key);
        assert_eq!(values.len(), 1, "{file}: exactly one `# {key}:` line expected");
        values[0].to_owned()
    };
    let rule: u32 = single("rule")
        .strip_prefix("V-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{file}: `# rule:` must be V-<number>"));
    let mut expected = vec![err(&single("path"), &single("message"))];
    for also in header(&text, "also") {
        let (path, message) = also.split_once(": ").unwrap_or_else(|| panic!("{file}: `# also: <path>: <message>`"));
        expected.push(err(path, message));
    }
    let update = match header(&text, "update").as_slice() {
        [] => false,
        ["true"] => true,
        other => panic!("{file}: bad `# update:` {other:?}"),
    };
    let documents = decode_all(&text, &file);
    Case { file, rule, expected, update, documents }
}

fn load_cases() -> Vec<Case> {
    let mut paths: Vec<PathBuf> = fs::read_dir(cases_dir())
        .unwrap_or_else(|e| panic!("read testdata/validation: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load_case(p)).collect()
}

fn show(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("\n    {e}")).collect()
}

// ---------------------------------------------------------------------------------------------------------
// testdata/validation

#[test]
fn every_case_gives_exactly_its_errors() {
    let mut failures = Vec::new();
    for case in load_cases() {
        let actual = match (case.update, case.documents.as_slice()) {
            (false, [m]) => errors_of(m),
            (true, [old, new]) => {
                for (which, m) in [("old", old), ("new", new)] {
                    let found = errors_of(m);
                    if !found.is_empty() {
                        failures.push(format!("{}: {which} document invalid:{}", case.file, show(&found)));
                    }
                }
                validate_update(old, new).err().map(|e| e.0).unwrap_or_default()
            }
            (update, docs) => {
                failures.push(format!("{}: update={update} with {} documents", case.file, docs.len()));
                continue;
            }
        };
        if actual != case.expected {
            failures.push(format!("{}:\n  expected:{}\n  actual:{}", case.file, show(&case.expected), show(&actual)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The V-numbers the spec defines (`**V-n**`), minus V-13 and V-15, which have no rule.
fn spec_rule_numbers() -> BTreeSet<u32> {
    let spec = read(&repo_root().join("../shared/spec/model-booster.md"));
    let mut numbers = BTreeSet::new();
    for part in spec.split("**V-").skip(1) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if part[digits.len()..].starts_with("**")
            && let Ok(n) = digits.parse::<u32>()
        {
            numbers.insert(n);
        }
    }
    numbers.remove(&13);
    numbers.remove(&15);
    numbers
}

#[test]
fn cases_cover_every_rule_of_the_spec() {
    let cases = load_cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let spec_rules = spec_rule_numbers();
    let expected: BTreeSet<u32> = (1..=12).chain([14]).chain(16..=22).chain(30..=45).collect();
    assert_eq!(spec_rules, expected, "V-numbers of the spec changed");
    let covered: BTreeSet<u32> = cases.iter().map(|c| c.rule).collect();
    assert_eq!(covered, spec_rules);
    for case in &cases {
        let prefix = format!("V-{:02}-", case.rule);
        let slug = case.file.strip_prefix(&prefix).and_then(|s| s.strip_suffix(".yaml"));
        assert!(
            slug.is_some_and(
                |s| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            ),
            "{}: name must be {prefix}<slug>.yaml",
            case.file
        );
        assert_eq!(case.update, case.rule == 40, "{}: `# update: true` is for V-40 only", case.file);
        for m in &case.documents {
            assert!(m.metadata.namespace.is_none(), "{}: no namespace", case.file);
            assert!(m.metadata.name.is_some(), "{}: metadata.name", case.file);
        }
    }
    let count = |rule| cases.iter().filter(|c| c.rule == rule).count();
    assert_eq!(count(1), 2, "V-1: negative and > 1800s");
    assert_eq!(count(39), 4, "V-39: a DNS-1123 label, and three length sub-rules");
    assert_eq!(count(40), 2, "V-40: type and replicas");
    assert!(count(41) >= 4, "V-41: several bad URIs");
    assert!(count(43) >= 10, "V-43: every sub-rule and duration field");
}

// ---------------------------------------------------------------------------------------------------------
// Reference inputs (spec §6.4)

fn reference_errors(file: &str) -> Vec<FieldError> {
    let path = reference_dir().join(file);
    let mut docs = decode_all(&read(&path), file);
    assert_eq!(docs.len(), 1, "{file}");
    errors_of(&docs.remove(0))
}

#[test]
fn reference_inputs_give_the_expected_results() {
    const V9: &str = "minReplicas must be >= 1 when backend-level autoscaling is set";
    const V10: &str = "minReplicas and maxReplicas must be equal and > 0 when no autoscaling is set";
    const V12: &str = "scalingCost must be provided when model-level autoscaling is set";
    const V14: &str = "sum of all minReplicas must be >= 1 when model-level autoscaling is set";
    let model_level = vec![
        err("spec.backends[0].scalingCost", V12),
        err("spec.backends[1].scalingCost", V12),
        err("spec.backends", V14),
    ];
    let table: Vec<(&str, Vec<FieldError>)> = vec![
        ("convert/input/model.yaml", vec![err("spec.backends[0].minReplicas", V9)]),
        ("convert/input/multi-backends-model.yaml", model_level.clone()),
        ("convert/input/multi-lora-model.yaml", model_level),
        ("convert/input/pd-disaggregated-model.yaml", vec![err("spec.backends[0]", V10)]),
        ("examples/Qwen2.5-0.5B-Instruct.yaml", vec![]),
        ("examples/Qwen2.5-Coder-32B-Instruct.yaml", vec![err("spec.backends[0]", V10)]),
        (
            "examples/Deepseek-R1-Distill-llama-8B.yaml",
            vec![err(
                "spec.backends[0].cacheURI",
                "cacheURI must be pvc://<claim-name> or hostpath://<absolute-path> (for example hostpath:///mnt/cache)",
            )],
        ),
        ("examples/prefill-decode-disaggregation.yaml", vec![]),
    ];
    for (file, expected) in table {
        assert_eq!(reference_errors(file), expected, "{file}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Collection and order

const VALID: &str = r#"
apiVersion: workload.serving.volcano.sh/v1alpha1
kind: ModelBooster
metadata:
  name: demo
spec:
  name: demo-model
  backends:
    - name: backend1
      type: vLLM
      modelURI: hf://Qwen/Qwen2.5-0.5B-Instruct
      cacheURI: hostpath:///mnt/cache/
      minReplicas: 2
      maxReplicas: 2
      env:
        - name: RUNTIME_PORT
          value: "8200"
      workers:
        - image: vllm/vllm-openai:v0.10.1
          config:
            max-model-len: 4096
      loraAdapters:
        - name: sql
          artifactURL: hf://org/sql
    - name: backend2
      type: vLLMDisaggregated
      modelURI: s3://bucket/model
      cacheURI: pvc://model-cache
      minReplicas: 1
      maxReplicas: 1
      routeWeight: 0
      workers:
        - type: prefill
          image: vllm/vllm-openai:v0.10.1
          resources: {limits: {nvidia.com/gpu: 1}}
        - type: decode
          image: vllm/vllm-openai:v0.10.1
          resources: {limits: {nvidia.com/gpu: 1}}
  modelMatch:
    headers:
      user: {exact: john}
    uri: {prefix: /v1}
"#;

#[test]
fn a_valid_object_gives_ok() {
    assert_eq!(validate(&decode(VALID)), Ok(()));
}

#[test]
fn errors_are_collected_in_spec_order() {
    let text = VALID
        .replace("name: demo-model", "name: Demo_Model")
        .replace("cacheURI: pvc://model-cache", "cacheURI: pvc://a/b")
        .replace("minReplicas: 2\n", "minReplicas: 3\n")
        .replace("type: vLLMDisaggregated", "type: MindIE")
        .replace("value: \"8200\"", "value: \"http\"")
        .replace("uri: {prefix: /v1}", "uri: {prefix: /v1, exact: /v1/chat}")
        .replace("maxReplicas: 1\n", "maxReplicas: 1000001\n");
    let m = decode(&text);
    let expected = vec![
        // OpenAPI, document order
        err("spec.name", "should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"),
        err("spec.backends[1].maxReplicas", "should be less than or equal to 1e+06"),
        // V-rules by number
        err("spec.backends[0].minReplicas", "minReplicas cannot be greater than maxReplicas"),
        err("spec.backends", "sum of maxReplicas across all backends (1000003) cannot exceed 1000000"),
        err("spec.backends[0]", "minReplicas and maxReplicas must be equal and > 0 when no autoscaling is set"),
        err("spec.backends[1]", "minReplicas and maxReplicas must be equal and > 0 when no autoscaling is set"),
        err("spec.backends[1].workers", "If backend type is 'MindIE', there must be exactly one worker"),
        err(
            "spec.backends[1].type",
            "backend type 'MindIE' is not supported yet; supported types: vLLM, vLLMDisaggregated, SGLang",
        ),
        err(
            "spec.backends[1].cacheURI",
            "cacheURI must be pvc://<claim-name> or hostpath://<absolute-path> (for example hostpath:///mnt/cache)",
        ),
        err("spec.modelMatch.uri", "only one of exact, prefix, regex may be set"),
        // R-rules
        err("spec.backends[0].env[0].value", "RUNTIME_PORT must be an integer between 1 and 65535"),
    ];
    assert_eq!(errors_of(&m), expected, "{}", show(&errors_of(&m)));
}

#[test]
fn validation_errors_display_in_the_reference_framing() {
    let m = decode(&VALID.replace("routeWeight: 0", "routeWeight: 101"));
    let errors = validate(&m).err().unwrap_or_else(|| ValidationErrors(vec![]));
    assert_eq!(
        errors.to_string(),
        "validation failed:\n  - spec.backends[1].routeWeight: should be less than or equal to 100"
    );
}

#[test]
fn per_backend_rules_report_each_offending_backend() {
    let text = r#"
apiVersion: workload.serving.volcano.sh/v1alpha1
kind: ModelBooster
metadata: {name: m}
spec:
  autoscalingPolicy:
    metrics: [{metricName: a, targetValue: 1}]
  backends:
    - {name: b1, type: vLLM, modelURI: hf://x, minReplicas: 1, maxReplicas: 2, scalingCost: 1, workers: [{image: i}]}
    - {name: b2, type: vLLM, modelURI: hf://x, minReplicas: 1, maxReplicas: 2, workers: [{image: i}]}
    - {name: b3, type: vLLM, modelURI: hf://x, minReplicas: 1, maxReplicas: 2, scalingCost: 0, workers: [{image: i}]}
"#;
    let v12 = "scalingCost must be provided when model-level autoscaling is set";
    assert_eq!(
        errors_of(&decode(text)),
        vec![err("spec.backends[1].scalingCost", v12), err("spec.backends[2].scalingCost", v12)]
    );
}

#[test]
fn duplicate_list_map_keys_are_reported_once_per_key() {
    let text = r#"
apiVersion: workload.serving.volcano.sh/v1alpha1
kind: ModelBooster
metadata: {name: m}
spec:
  backends:
    - {name: a, type: vLLM, modelURI: hf://x, minReplicas: 1, maxReplicas: 1, workers: [{image: i}],
       env: [{name: X, value: "1"}, {name: X, value: "2"}, {name: X, value: "3"}]}
    - {name: a, type: vLLM, modelURI: hf://x, minReplicas: 1, maxReplicas: 1, workers: [{image: i}]}
"#;
    assert_eq!(
        errors_of(&decode(text)),
        vec![
            err("spec.backends[0].env[1]", r#"Duplicate value: map[string]interface {}{"name":"X"}"#),
            err("spec.backends[1]", r#"Duplicate value: map[string]interface {}{"name":"a"}"#),
        ]
    );
}

/// V-7 and V-8 reject only values that differ from the default; an explicit default is indistinguishable from an
/// omitted field (spec §3.2).
#[test]
fn explicit_defaults_pass_v7_and_v8() {
    for period in ["30s", "30000ms", "0.5m", "29s1000ms"] {
        let text =
            VALID.replace("minReplicas: 1\n", &format!("minReplicas: 1\n      scaleToZeroGracePeriod: \"{period}\"\n"));
        let text = text.replace("  name: demo-model\n", "  name: demo-model\n  costExpansionRatePercent: 200\n");
        assert_eq!(validate(&decode(&text)), Ok(()), "{period}");
    }
    let text = VALID.replace("minReplicas: 1\n", "minReplicas: 1\n      scaleToZeroGracePeriod: 31s\n");
    assert_eq!(
        errors_of(&decode(&text)),
        vec![err(
            "spec.backends[1].scaleToZeroGracePeriod",
            "scaleToZeroGracePeriod must not be provided when model-level autoscaling is not set"
        )]
    );
}

#[test]
fn malformed_durations_fail_the_pattern_only() {
    let text = VALID.replace("minReplicas: 1\n", "minReplicas: 1\n      scaleToZeroGracePeriod: 30 s\n");
    assert_eq!(
        errors_of(&decode(&text)),
        vec![err(
            "spec.backends[1].scaleToZeroGracePeriod",
            r"should match '^-?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$'"
        )]
    );
}

// ---------------------------------------------------------------------------------------------------------
// V-35

fn with_adapters(backends: &[(&str, &[&str])]) -> ModelBooster {
    let mut text = String::from(
        "apiVersion: workload.serving.volcano.sh/v1alpha1\nkind: ModelBooster\nmetadata: {name: m}\nspec:\n  backends:\n",
    );
    for (name, adapters) in backends {
        text.push_str(&format!(
            "    - {{name: {name}, type: vLLM, modelURI: hf://x, minReplicas: 1, maxReplicas: 1, workers: [{{image: i}}]"
        ));
        if !adapters.is_empty() {
            let list: Vec<String> = adapters.iter().map(|a| format!("{{name: {a}, artifactURL: hf://{a}}}")).collect();
            text.push_str(&format!(", loraAdapters: [{}]", list.join(", ")));
        }
        text.push_str("}\n");
    }
    decode(&text)
}

#[test]
fn v35_counts_distinct_adapter_names_across_backends() {
    const V35: &str = "at most 10 distinct LoRA adapter names are allowed across all backends";
    let ten: Vec<String> = (0..10).map(|k| format!("a{k}")).collect();
    let ten: Vec<&str> = ten.iter().map(String::as_str).collect();
    // The same ten names in three backends: 10 distinct names.
    let m = with_adapters(&[("x", &ten), ("y", &ten), ("b", &ten)]);
    assert_eq!(validate(&m), Ok(()));
    // Overlapping lists: {a0..a9} ∪ {a5..a9, a10} has 11 names.
    let overlap = ["a5", "a6", "a7", "a8", "a9", "a10"];
    let m = with_adapters(&[("x", &ten), ("y", &overlap)]);
    assert_eq!(errors_of(&m), vec![err("spec.backends", V35)]);
    // A name is counted at the backend with the smallest name listing it, whatever the list order.
    let m = with_adapters(&[("z", &ten), ("a", &["a0"]), ("b", &[])]);
    assert_eq!(validate(&m), Ok(()));
    let m = with_adapters(&[("z", &ten[..5]), ("a", &ten[5..]), ("c", &["a0", "a9"])]);
    assert_eq!(validate(&m), Ok(()));
    let m = with_adapters(&[("z", &ten[..5]), ("a", &ten[5..]), ("c", &["k", "l"])]);
    assert_eq!(errors_of(&m), vec![err("spec.backends", V35)]);
}

// ---------------------------------------------------------------------------------------------------------
// V-40

#[test]
fn v40_correlates_backends_by_name() {
    let old = with_adapters(&[("a", &[]), ("b", &[])]);
    // Reordered, one added, one removed: nothing changed for a backend that exists in both.
    let new = with_adapters(&[("c", &[]), ("a", &[])]);
    assert_eq!(validate_update(&old, &new), Ok(()));
    let mut changed = new.clone();
    changed.spec.backends[1].type_ = booster_api::BackendType::Sglang;
    changed.spec.backends[1].workers[0].replicas = 3;
    changed.spec.backends[0].workers[0].replicas = 3;
    assert_eq!(
        validate_update(&old, &changed).err().map(|e| e.0).unwrap_or_default(),
        vec![
            err("spec.backends[1].type", "type is immutable; use a new backend name to change it"),
            err(
                "spec.backends[1].workers",
                "replicas of server, prefill and decode workers are immutable (ModelServing gangPolicy.minRoleReplicas is immutable); use a new backend name to change them"
            ),
        ]
    );
}

// ---------------------------------------------------------------------------------------------------------
// Parsers

#[test]
fn quantity_sign_table() {
    let table: &[(&str, Option<i8>)] = &[
        ("10", Some(1)),
        ("0", Some(0)),
        ("-1", Some(-1)),
        ("+1", Some(1)),
        ("1.5", Some(1)),
        ("1.", Some(1)),
        (".5", Some(1)),
        ("0.000", Some(0)),
        ("100m", Some(1)),
        ("0.1m", Some(1)),
        ("1Ki", Some(1)),
        ("-2Gi", Some(-1)),
        ("1k", Some(1)),
        ("1M", Some(1)),
        ("1E", Some(1)),
        ("1e3", Some(1)),
        ("1E-3", Some(1)),
        ("1e+3", Some(1)),
        ("-1e-30", Some(-1)),
        ("1n", Some(1)),
        ("1u", Some(1)),
        ("12345678901234567890123", Some(1)),
        ("0e5", Some(0)),
        ("", None),
        ("ten", None),
        ("1K", None),
        ("1ki", None),
        ("1KiB", None),
        ("1 ", None),
        (" 1", None),
        ("1e", None),
        ("1e2.5", None),
        ("1e+", None),
        ("1.2.3", None),
        ("--1", None),
        ("1m5", None),
        ("1µ", None),
        ("Infinity", None),
        ("NaN", None),
        ("1e99999999999999999999", None),
    ];
    for (text, expected) in table {
        assert_eq!(quantity::sign(text), *expected, "{text:?}");
    }
}

#[test]
fn duration_table() {
    use duration::DurationError::{Invalid, Overflow};
    const S: i64 = 1_000_000_000;
    let table: &[(&str, Result<i64, duration::DurationError>)] = &[
        ("0", Ok(0)),
        ("-0", Ok(0)),
        ("+0", Ok(0)),
        ("30s", Ok(30 * S)),
        ("1800s", Ok(1800 * S)),
        ("30m", Ok(1800 * S)),
        ("0.5m", Ok(30 * S)),
        ("1h30m", Ok(5400 * S)),
        ("-1.5h", Ok(-5400 * S)),
        ("+5s", Ok(5 * S)),
        ("1.s", Ok(S)),
        (".5s", Ok(S / 2)),
        ("1ns", Ok(1)),
        ("1us", Ok(1_000)),
        ("1µs", Ok(1_000)),
        ("1μs", Ok(1_000)),
        ("1ms", Ok(1_000_000)),
        ("2h45m0.5s", Ok((2 * 3600 + 45 * 60) * S + S / 2)),
        ("1.0000000001s", Ok(S)),
        ("0.3333333333333333333333h", Ok(1_200_000_000_000)),
        ("9223372036854775807ns", Ok(i64::MAX)),
        ("-9223372036854775808ns", Ok(i64::MIN)),
        ("9223372036854775808ns", Err(Overflow { negative: false })),
        ("-9223372036854775809ns", Err(Overflow { negative: true })),
        ("3000000h", Err(Overflow { negative: false })),
        ("-3000000h", Err(Overflow { negative: true })),
        ("", Err(Invalid)),
        ("-", Err(Invalid)),
        ("s", Err(Invalid)),
        (".s", Err(Invalid)),
        ("1", Err(Invalid)),
        ("00", Err(Invalid)),
        ("1d", Err(Invalid)),
        ("1S", Err(Invalid)),
        ("1 s", Err(Invalid)),
        ("1s ", Err(Invalid)),
        ("--1s", Err(Invalid)),
        ("1.2.3s", Err(Invalid)),
    ];
    for (text, expected) in table {
        assert_eq!(duration::parse(text), *expected, "{text:?}");
    }
}

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,24}") {
            let _ = quantity::sign(&s);
            let _ = duration::parse(&s);
        }

        #[test]
        fn duration_like_strings_never_panic(s in "[-+]?([0-9.]{0,22}(ns|us|µs|ms|s|m|h|x)?){0,4}") {
            let _ = duration::parse(&s);
        }

        #[test]
        fn quantity_like_strings_never_panic(s in "[-+]?[0-9.]{0,25}([eE][-+]?[0-9]{0,25}|[numkKMGTPE]i?)?") {
            let _ = quantity::sign(&s);
        }
    }
}
