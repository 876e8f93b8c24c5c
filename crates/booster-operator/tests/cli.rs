//! The offline commands of the `booster` binary, run as a user runs them (spec §5.1).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn reference(file: &str) -> PathBuf {
    repo().join("../shared/reference/kthena-v0.1.0").join(file)
}

fn booster(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_booster"))
        .args(args)
        .env_remove("MODEL_BOOSTER_DOWNLOADER_IMAGE")
        .env_remove("MODEL_BOOSTER_RUNTIME_IMAGE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("booster runs");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("booster exits")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_validates_and_renders() {
    let files = example_files();
    assert!(files.len() >= 8, "examples/ holds the examples of the render issue");
    for file in files {
        let path = file.to_str().expect("utf-8 path");
        let out = booster(&["validate", "-f", path], None);
        assert_eq!(out.status.code(), Some(0), "{path}: {}", text(&out.stderr));
        assert!(text(&out.stdout).ends_with(": valid\n"), "{path}: {}", text(&out.stdout));
        let out = booster(&["render", "-f", path], None);
        assert_eq!(out.status.code(), Some(0), "{path}: {}", text(&out.stderr));
        let documents: Vec<Value> = serde_yaml::Deserializer::from_str(&text(&out.stdout))
            .map(|doc| serde::Deserialize::deserialize(doc).expect("YAML document"))
            .collect();
        assert!(documents.len() >= 3, "{path}: a ModelServing, a ModelServer and a ModelRoute at least");
        assert_eq!(documents[0]["kind"], "ModelServing", "{path}");
    }
}

#[test]
fn validate_reports_the_expected_errors_of_the_reference_inputs() {
    let out =
        booster(&["validate", "-f", reference("convert/input/multi-backends-model.yaml").to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        text(&out.stderr),
        "dev/multi-backend-model: validation failed:\n  \
         - spec.backends[0].scalingCost: scalingCost must be provided when model-level autoscaling is set\n  \
         - spec.backends[1].scalingCost: scalingCost must be provided when model-level autoscaling is set\n  \
         - spec.backends: sum of all minReplicas must be >= 1 when model-level autoscaling is set\n"
    );
}

#[test]
fn validate_checks_every_document_of_a_stream() {
    let valid = std::fs::read_to_string(reference("examples/Qwen2.5-0.5B-Instruct.yaml")).unwrap();
    let invalid = std::fs::read_to_string(reference("examples/Qwen2.5-Coder-32B-Instruct.yaml")).unwrap();
    let out = booster(&["validate", "-f", "-"], Some(format!("{valid}---\n{invalid}---\n").as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "demo: valid\n");
    assert!(
        text(&out.stderr).starts_with("qwen25: validation failed:\n  - spec.backends[0]: minReplicas and maxReplicas")
    );
}

#[test]
fn render_refuses_invalid_documents_and_prints_nothing() {
    let out = booster(&["render", "-f", reference("convert/input/model.yaml").to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        text(&out.stderr),
        "default/test-model: validation failed:\n  \
         - spec.backends[0].minReplicas: minReplicas must be >= 1 when backend-level autoscaling is set\n"
    );
}

#[test]
fn render_no_validate_renders_the_conformance_inputs_in_order() {
    let out = booster(
        &["render", "--no-validate", "-o", "json", "-f", reference("convert/input/model.yaml").to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let children: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    let kinds: Vec<&str> = children.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ModelServing", "ModelServer", "ModelRoute", "AutoscalingPolicy", "AutoscalingPolicyBinding"]);
}

#[test]
fn render_errors_fail_even_without_validation() {
    let out = booster(
        &["render", "--no-validate", "-f", reference("examples/Deepseek-R1-Distill-llama-8B.yaml").to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert!(
        text(&out.stderr).contains("spec.backends[0].cacheURI: cacheURI must be pvc://<claim-name>"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn missing_namespace_and_uid_get_defaults_and_one_warning() {
    let doc = std::fs::read_to_string(reference("examples/Qwen2.5-0.5B-Instruct.yaml")).unwrap();
    let out = booster(&["render", "-o", "json", "-f", "-"], Some(doc.as_bytes()));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stderr),
        "warning: default/demo has no metadata.uid; owner references use 00000000-0000-0000-0000-000000000000\n"
    );
    let children: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for child in children {
        assert_eq!(child["metadata"]["namespace"], "default");
        assert_eq!(child["metadata"]["ownerReferences"][0]["uid"], "00000000-0000-0000-0000-000000000000");
    }
}

#[test]
fn images_come_from_flags() {
    let doc = std::fs::read_to_string(reference("examples/Qwen2.5-0.5B-Instruct.yaml")).unwrap();
    let out = booster(
        &[
            "render",
            "-o",
            "json",
            "-f",
            "-",
            "--downloader-image",
            "registry.local/dl:1",
            "--runtime-image",
            "registry.local/rt:1",
        ],
        Some(doc.as_bytes()),
    );
    let children: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let pod = &children[0]["spec"]["template"]["roles"][0]["entryTemplate"]["spec"];
    assert_eq!(pod["initContainers"][0]["image"], "registry.local/dl:1");
    assert_eq!(pod["containers"][0]["image"], "registry.local/rt:1");
}

#[test]
fn unreadable_input_exits_2_with_a_clear_message() {
    let cases: [(&[u8], &str); 5] = [
        (b"spec: [\n", "line 2 column 1"),
        (
            b"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
            "expected apiVersion workload.serving.volcano.sh/v1alpha1 and kind ModelBooster",
        ),
        (b"- 1\n", "a document must be a mapping"),
        (b"", "no ModelBooster document"),
        (b"\xff\xfe\x00garbage", "standard input"),
    ];
    for (input, message) in cases {
        for command in ["validate", "render"] {
            let out = booster(&[command, "-f", "-"], Some(input));
            assert_eq!(out.status.code(), Some(2), "{command} {input:?}");
            assert!(text(&out.stderr).contains(message), "{command}: {}", text(&out.stderr));
            assert_eq!(out.stdout, b"");
        }
    }
}

#[test]
fn unknown_and_mistyped_fields_are_parse_errors_naming_the_field() {
    let doc = std::fs::read_to_string(reference("examples/Qwen2.5-0.5B-Instruct.yaml")).unwrap();
    let out = booster(&["validate", "-f", "-"], Some(doc.replace("minReplicas", "minReplica").as_bytes()));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("spec.backends[0].minReplica: unknown field"), "{}", text(&out.stderr));
    let out = booster(&["validate", "-f", "-"], Some(doc.replace("minReplicas: 1", "minReplicas: one").as_bytes()));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("spec.backends[0].minReplicas: invalid type: string \"one\""),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_missing_file_exits_2() {
    let out = booster(&["validate", "-f", "/nonexistent/booster.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: reading /nonexistent/booster.yaml:"));
}

#[test]
fn crds_prints_the_model_booster_crd_and_all_with_all() {
    let one = booster(&["crds"], None);
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text(&one.stdout))
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["metadata"]["name"], "modelboosters.workload.serving.volcano.sh");
    let all = booster(&["crds", "--all"], None);
    let names: Vec<String> = serde_yaml::Deserializer::from_str(&text(&all.stdout))
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .map(|d: Value| d["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 6);
    assert_eq!(
        std::fs::read_to_string(
            repo().join("charts/model-booster/crds/workload.serving.volcano.sh_modelboosters.yaml")
        )
        .unwrap(),
        text(&one.stdout),
        "booster crds prints the committed chart CRD"
    );
}
