//! Property tests of `booster-render` (spec §3, §4; guide §6 layer 2).
//!
//! Over generated **valid** ModelBoosters (`properties/strategy.rs`): `validate` accepts them; `render` succeeds;
//! every child validates against the reference CRD schema of its kind (`../shared/reference/kthena-v0.1.0/crds/`);
//! names, label values and container names are DNS-1123 labels / label values; owner references and the five
//! labels are on every child and pod template; rendering is byte-identical across runs; the revision label of a
//! backend's ModelServing follows exactly the changes that reach it (D-15).
//!
//! Over **arbitrary input** (strings, bytes, YAML-like text, mutated valid documents): YAML parse, strict decode,
//! `validate` and `render` return errors and never panic; `render` runs on invalid objects too (§4.1); whatever
//! `validate` accepts, `render` renders, within the CRDs.
//!
//! Case counts (128…1024 per property, below) take about 20 s in a debug build on 2 idle cores (well under a
//! minute on a loaded machine). `PROPTEST_CASES=N` sets every property's count to N (e.g. `PROPTEST_CASES=5000 cargo test -p booster-render --release --test properties` in a nightly
//! job). Failures are persisted in `crates/booster-render/proptest-regressions/properties.txt` (committed) and
//! replayed first.

mod properties {
    pub mod checks;
    pub mod schema;
    pub mod strategy;
}

use std::sync::OnceLock;

use booster_api::ModelBooster;
use booster_render::{Settings, render, validate};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use regex::Regex;
use serde_json::Value;

use properties::checks::{self, child_violations, render_json, render_text, revision, serving_without_replicas};
use properties::strategy::{
    self, Mutation, decode, mutation, plan, scale_change, serving_change, tweak, valid_document,
};

/// `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn config(default_cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default_cases),
        // `SourceParallel` (the default) only finds the crate of `src/`; integration tests name the file.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/properties.txt"
        )))),
        ..ProptestConfig::default()
    }
}

/// Decodes a generated valid document; failing to decode is a generator (or decoder) bug.
fn decoded(document: &Value) -> Result<ModelBooster, TestCaseError> {
    decode(document).map_err(|e| {
        TestCaseError::fail(format!("generated document does not decode: {e}\n{}", strategy::yaml(document)))
    })
}

fn validated(document: &Value) -> Result<ModelBooster, TestCaseError> {
    let m = decoded(document)?;
    validate(&m).map_err(|e| TestCaseError::fail(format!("{e}\n--- document:\n{}", strategy::yaml(document))))?;
    Ok(m)
}

fn rendered(m: &ModelBooster, document: &Value) -> Result<Vec<checks::Rendered>, TestCaseError> {
    render_json(m).map_err(|e| TestCaseError::fail(format!("{e}\n--- document:\n{}", strategy::yaml(document))))
}

// -----------------------------------------------------------------------------------------------------------------
// Valid ModelBoosters

proptest! {
    #![proptest_config(config(256))]

    /// Every generated object passes `validate`, and decoding is idempotent (defaults applied once are stable).
    #[test]
    fn generated_boosters_are_valid(document in valid_document()) {
        let m = validated(&document)?;
        let again = decoded(&serde_json::to_value(&m).expect("serializable"))?;
        prop_assert_eq!(&again, &m, "decode ∘ encode is not the identity on a decoded object");
    }

    /// `render` succeeds, and every child fits its reference CRD schema and the naming, label and ownership rules.
    #[test]
    fn children_fit_the_crds_names_labels_and_owners(document in valid_document()) {
        let m = validated(&document)?;
        let children = rendered(&m, &document)?;
        let violations = child_violations(&m, &children);
        prop_assert!(
            violations.is_empty(),
            "{}\n--- document:\n{}",
            violations.join("\n"),
            strategy::yaml(&document)
        );
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Equal inputs give byte-identical output, also when decoded again from the same text.
    #[test]
    fn rendering_is_byte_identical(document in valid_document()) {
        let m = validated(&document)?;
        let first = render_text(&m).map_err(TestCaseError::fail)?;
        let second = render_text(&m).map_err(TestCaseError::fail)?;
        prop_assert!(first == second, "two renders of one object differ");
        let third = render_text(&decoded(&document)?).map_err(TestCaseError::fail)?;
        prop_assert!(first == third, "renders of two decodes of one text differ");
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// D-15: a change of backend `i` that reaches its ModelServing (worker image, env, config) changes its revision
    /// label; the other backends' ModelServings and ModelServers stay byte-identical.
    #[test]
    fn revision_follows_the_backends_serving_spec(
        plan in plan(),
        change in serving_change(),
        pick in any::<usize>(),
    ) {
        let document = plan.document();
        let m = validated(&document)?;
        let before = rendered(&m, &document)?;
        let n = m.spec.backends.len();
        let i = pick % n;
        let mut changed = document.clone();
        change.apply(&mut changed, i);
        let m2 = validated(&changed)?;
        let after = rendered(&m2, &changed)?;
        prop_assert_ne!(
            revision(&before[i].value),
            revision(&after[i].value),
            "{:?} of backend {} did not change its ModelServing's revision",
            change,
            i
        );
        for j in (0..n).filter(|&j| j != i) {
            prop_assert_eq!(&before[j].value, &after[j].value, "ModelServing {} changed with backend {}", j, i);
            prop_assert_eq!(&before[n + j].value, &after[n + j].value, "ModelServer {} changed with backend {}", j, i);
        }
    }

    /// D-15: changing a backend's minReplicas/maxReplicas, routeWeight or scalingCost leaves its ModelServing's
    /// revision and pod templates alone (only `spec.replicas` may follow minReplicas).
    #[test]
    fn revision_ignores_scaling_and_routing_fields(
        plan in plan(),
        change in scale_change(),
        pick in any::<usize>(),
    ) {
        let document = plan.document();
        let m = validated(&document)?;
        let before = rendered(&m, &document)?;
        let i = pick % m.spec.backends.len();
        let mut changed = document.clone();
        change.apply(&mut changed, i);
        let m2 = validated(&changed)?;
        let after = rendered(&m2, &changed)?;
        for j in 0..m.spec.backends.len() {
            prop_assert_eq!(
                revision(&before[j].value),
                revision(&after[j].value),
                "{:?} of backend {} changed the revision of ModelServing {}",
                change,
                i,
                j
            );
            prop_assert_eq!(
                serving_without_replicas(&before, j),
                serving_without_replicas(&after, j),
                "{:?} of backend {} changed ModelServing {} beyond spec.replicas",
                change,
                i,
                j
            );
        }
    }
}

// -----------------------------------------------------------------------------------------------------------------
// Arbitrary input: errors, never panics

fn subdomain() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").expect("regex"))
}

/// Metadata as the API server guarantees it for stored objects: a DNS-1123 subdomain name, a namespace (a DNS-1123
/// label) and a uid (a UUID, here: any valid label value).
fn stored_metadata(m: &ModelBooster) -> bool {
    let label_value = Regex::new("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$").expect("regex");
    let name = m.metadata.name.as_deref().unwrap_or_default();
    let namespace = m.metadata.namespace.as_deref().unwrap_or_default();
    let uid = m.metadata.uid.as_deref().unwrap_or_default();
    !name.is_empty()
        && name.len() <= 253
        && subdomain().is_match(name)
        && !namespace.is_empty()
        && namespace.len() <= 63
        && subdomain().is_match(namespace)
        && !namespace.contains('.')
        && !uid.is_empty()
        && uid.len() <= 63
        && label_value.is_match(uid)
}

/// `validate` then `render` a decoded object (valid or not). Both return, never panic; validation errors name a
/// field; an object that `validate` accepts (with metadata as stored by the API server) renders. Returns the
/// children of such an accepted object, for the checks of the valid properties.
fn validate_and_render(m: &ModelBooster, source: &str) -> Result<Option<Vec<checks::Rendered>>, TestCaseError> {
    let validation = validate(m);
    if let Err(errors) = &validation {
        prop_assert!(!errors.0.is_empty(), "an empty error list");
        for e in &errors.0 {
            prop_assert!(!e.path.is_empty() && !e.message.is_empty(), "error without path or message: {:?}", e);
        }
    }
    let rendered = render(m, &Settings::default());
    if let Ok(children) = &rendered {
        for child in children.clone().into_vec() {
            prop_assert!(child.to_value().is_ok(), "{} does not serialize", child.kind());
        }
    }
    if validation.is_err() || !stored_metadata(m) {
        return Ok(None);
    }
    prop_assert!(rendered.is_ok(), "validate accepted, render failed: {:?}\n--- input:\n{}", rendered.err(), source);
    render_json(m).map(Some).map_err(TestCaseError::fail)
}

/// The children of an accepted object meet every invariant of the valid properties.
fn accepted_children_are_valid(
    m: &ModelBooster,
    children: Option<Vec<checks::Rendered>>,
    source: &str,
) -> Result<(), TestCaseError> {
    let Some(children) = children else { return Ok(()) };
    let violations = child_violations(m, &children);
    prop_assert!(
        violations.is_empty(),
        "validate accepted, bad children:\n{}\n--- input:\n{}",
        violations.join("\n"),
        source
    );
    Ok(())
}

/// The CLI's path: YAML stream → documents → strict decode → validate → render. With `check_children`, the
/// children of every accepted document must also meet the invariants of the valid properties.
fn pipeline(text: &str, check_children: bool) -> Result<(), TestCaseError> {
    let Ok(documents) = booster_api::strict::documents(text) else { return Ok(()) };
    for document in documents {
        if let Ok(m) = booster_api::strict::decode::<ModelBooster>(document) {
            let children = validate_and_render(&m, text)?;
            if check_children {
                accepted_children_are_valid(&m, children, text)?;
            }
        }
    }
    Ok(())
}

fn mutated(document: Value, mutations: &[Mutation]) -> String {
    let mut document = document;
    for m in mutations {
        m.apply(&mut document);
    }
    strategy::yaml(&document)
}

const HEADER: &str = "apiVersion: workload.serving.volcano.sh/v1alpha1\nkind: ModelBooster\n";

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        pipeline(&text, false)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        pipeline(&String::from_utf8_lossy(&bytes), false)?;
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Text that starts like a ModelBooster, so decoding gets past the kind check.
    #[test]
    fn yaml_like_text_never_panics(
        body in "(metadata|spec|backends|workers|name|type|  |- |: |\\{|\\}|\\[|\\]|,|\n|[a-zA-Z0-9 ]{1,8}|'|\"|&a|\\*a|!!str |---\n){0,60}",
    ) {
        pipeline(&format!("{HEADER}{body}"), false)?;
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Valid documents with one to three mutations (deleted keys, retyped scalars, arbitrary replacements,
    /// type-preserving tweaks) go through the whole pipeline without a panic.
    #[test]
    fn mutated_documents_never_panic(
        document in valid_document(),
        mutations in proptest::collection::vec(mutation(), 1..=3),
    ) {
        pipeline(&mutated(document, &mutations), false)?;
    }

    /// Type-preserving tweaks keep documents decodable but mostly invalid: `render` must cope without `validate`.
    #[test]
    fn invalid_but_decodable_boosters_render_or_fail_cleanly(
        document in valid_document(),
        tweaks in proptest::collection::vec(tweak(), 1..=4),
    ) {
        pipeline(&mutated(document, &tweaks), false)?;
    }

    /// Whatever `validate` accepts among mutated documents renders to children that meet every invariant of the
    /// valid properties (the generator's blind spots, seen from the other side).
    #[test]
    fn accepted_mutants_have_valid_children(
        document in valid_document(),
        mutations in proptest::collection::vec(prop_oneof![mutation(), tweak()], 1..=3),
    ) {
        pipeline(&mutated(document, &mutations), true)?;
    }

    /// The API server accepts any DNS-1123 subdomain as a ModelBooster name; if `validate` accepts one too, the
    /// container names derived from it (`<model>-model-downloader`, `<model>-lora-downloader-<i>`) must still be
    /// DNS-1123 labels, or Kubernetes rejects every pod of the ModelServing.
    #[test]
    fn accepted_model_names_give_dns_label_container_names(
        plan in plan(),
        name in "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?){0,3}",
    ) {
        let mut document = plan.document();
        document["metadata"]["name"] = name.into();
        pipeline(&strategy::yaml(&document), true)?;
    }
}

// -----------------------------------------------------------------------------------------------------------------
// The checker itself, and the minimal inputs of the bugs the properties found

fn reference_input(name: &str) -> ModelBooster {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/kthena-v0.1.0/convert/input")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    booster_api::strict::decode_all(&text).expect("a ModelBooster").remove(0)
}

/// The schema check has teeth: it accepts a rendered ModelServing and rejects unknown fields, malformed
/// quantities and int32 overflow in it.
#[test]
fn schema_check_rejects_unknown_fields_bad_quantities_and_int32_overflow() {
    let children = render_json(&reference_input("model.yaml")).expect("renders");
    let serving = &children[0];
    assert_eq!(serving.kind, "ModelServing");
    let schemas = properties::schema::schemas();
    assert_eq!(schemas.violations("ModelServing", &serving.value), Vec::<String>::new());
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut value = serving.value.clone();
        edit(&mut value);
        schemas.violations("ModelServing", &value)
    };
    type Edit<'a> = &'a dyn Fn(&mut Value);
    let cases: [(&str, Edit); 4] = [
        ("unknown field", &|v| v["spec"]["template"]["roles"][0]["unknownField"] = 1.into()),
        ("int32 overflow", &|v| v["spec"]["replicas"] = (i64::from(i32::MAX) + 1).into()),
        ("malformed quantity", &|v| {
            v["spec"]["template"]["roles"][0]["entryTemplate"]["spec"]["containers"][0]["resources"] =
                serde_json::json!({"limits": {"cpu": "two"}})
        }),
        ("wrong type", &|v| v["spec"]["schedulerName"] = 1.into()),
    ];
    for (what, edit) in cases {
        assert!(!broken(edit).is_empty(), "{what} is not caught");
    }
}

/// Minimal input of the bug `accepted_mutants_have_valid_children` finds.
#[test]
fn validate_rejects_malformed_resource_quantities() {
    let text = r#"
apiVersion: workload.serving.volcano.sh/v1alpha1
kind: ModelBooster
metadata: {name: m, namespace: ns, uid: u-1}
spec:
  backends:
  - name: b
    type: vLLM
    modelURI: hf://x/y
    minReplicas: 1
    maxReplicas: 1
    workers:
    - image: vllm
      resources:
        limits: {cpu: two}
"#;
    let m: ModelBooster = booster_api::strict::decode_all(text).expect("decodes").remove(0);
    assert!(validate(&m).is_err(), "validate accepts `cpu: two`");
}

/// Minimal input of the bug `accepted_model_names_give_dns_label_container_names` finds.
#[test]
fn validate_rejects_model_names_that_cannot_prefix_container_names() {
    let text = r#"
apiVersion: workload.serving.volcano.sh/v1alpha1
kind: ModelBooster
metadata: {name: qwen2.5, namespace: ns, uid: u-1}
spec:
  backends:
  - name: b
    type: vLLM
    modelURI: hf://x/y
    minReplicas: 1
    maxReplicas: 1
    workers:
    - image: vllm
"#;
    let m: ModelBooster = booster_api::strict::decode_all(text).expect("decodes").remove(0);
    assert!(validate(&m).is_err(), "validate accepts metadata.name qwen2.5 (container qwen2.5-model-downloader)");
}

/// The valid generator reaches every feature the properties are meant to cover (guards it against silently
/// losing variety when it is edited).
#[test]
fn generator_covers_every_feature() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeMap;

    let mut runner = TestRunner::deterministic();
    let strategy = valid_document();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for _ in 0..300 {
        let document = strategy.new_tree(&mut runner).expect("a value").current();
        let mut note = |feature: &'static str, present: bool| {
            if present {
                *seen.entry(feature).or_default() += 1;
            }
        };
        let spec = &document["spec"];
        let model = document["metadata"]["name"].as_str().expect("a name");
        note("model name at 45", model.len() == 45);
        note("model-level autoscaling", spec.get("autoscalingPolicy").is_some());
        note("model match", spec.get("modelMatch").is_some());
        let backends = spec["backends"].as_array().expect("backends");
        note("4 backends", backends.len() == 4);
        let mut adapters = std::collections::BTreeSet::new();
        for b in backends {
            let name = b["name"].as_str().expect("a name");
            note("backend name at 51", name.len() == 51);
            note("model + backend at 62", model.len() + name.len() == 62);
            let workers = b["workers"].as_array().expect("workers");
            let pods = workers[0].get("pods").and_then(Value::as_i64).unwrap_or(1);
            let has = |w: &Value, key: &str| w.get("config").is_some_and(|c| c.get(key).is_some());
            let given_kv = workers.iter().any(|w| has(w, "kv-transfer-config") || has(w, "kv_transfer_config"));
            let accel = |key: &str| workers.iter().any(|w| w["resources"].to_string().contains(key));
            match b["type"].as_str().expect("a type") {
                "vLLM" => note(if pods > 1 { "vLLM multi-node" } else { "vLLM single node" }, true),
                "SGLang" => note("SGLang", true),
                _ if given_kv => note("PD with given kv-transfer-config", true),
                _ => {
                    note("PD generated, Ascend", accel("huawei.com/ascend-"));
                    note("PD generated, GPU", accel("nvidia.com/gpu"));
                }
            }
            let cache = b.get("cacheURI").and_then(Value::as_str).unwrap_or("");
            note("cache emptyDir", cache.is_empty());
            note("cache pvc", cache.starts_with("pvc://"));
            note("cache hostpath", cache.starts_with("hostpath://"));
            note("RUNTIME_PORT", b["env"].to_string().contains("RUNTIME_PORT"));
            note("backend-level autoscaling", b.get("autoscalingPolicy").is_some());
            note("route weight 0", b.get("routeWeight") == Some(&Value::from(0)));
            note("affinity", workers.iter().any(|w| w.get("affinity").is_some()));
            note("LoRA", b.get("loraAdapters").is_some_and(|l| l.as_array().is_some_and(|l| !l.is_empty())));
            for a in b.get("loraAdapters").and_then(Value::as_array).into_iter().flatten() {
                adapters.insert(a["name"].as_str().expect("a name").to_owned());
                note("LoRA name at 63", a["name"].as_str().is_some_and(|n| n.len() == 63));
            }
        }
        note("10 distinct LoRA adapters", adapters.len() == 10);
    }
    let features = [
        "model name at 45",
        "backend name at 51",
        "model + backend at 62",
        "4 backends",
        "vLLM single node",
        "vLLM multi-node",
        "PD generated, Ascend",
        "PD generated, GPU",
        "PD with given kv-transfer-config",
        "SGLang",
        "cache emptyDir",
        "cache pvc",
        "cache hostpath",
        "RUNTIME_PORT",
        "model-level autoscaling",
        "backend-level autoscaling",
        "route weight 0",
        "affinity",
        "LoRA",
        "LoRA name at 63",
        "10 distinct LoRA adapters",
        "model match",
    ];
    let missing: Vec<&str> = features.iter().copied().filter(|f| !seen.contains_key(f)).collect();
    assert!(missing.is_empty(), "never generated: {missing:?}; seen: {seen:?}");
    println!("features over 300 documents: {seen:?}");
}
