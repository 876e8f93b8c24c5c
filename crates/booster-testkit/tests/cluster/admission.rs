//! Admission of ModelBoosters: every invalid case in `testdata/validation/` is rejected with its message and field;
//! every example in `examples/` is accepted.
//!
//! What the API server (v1.35) reports, and so how a case's headers are compared:
//! - HTTP 422, `Status.details.causes[]` with `field`, `reason` and `message`. The cause message is
//!   `Invalid value: <message>` for a CEL rule on an object or list, `Invalid value: "<value>": <message>` for one on
//!   a scalar, `Required value: <message>` for `reason: FieldValueRequired`, and the schema's own texts for OpenAPI
//!   checks (`Too many: 17: must have at most 16 items`, `Too long: may not be more than 51 bytes`,
//!   `Invalid value: -1: spec.backends[0].minReplicas in body should be greater than or equal to 0`). So the
//!   `# message:` text must be *contained* in a cause's message (rules with a `messageExpression` on `spec` also
//!   append ` (backends: …)`).
//! - The field is the path of the schema node holding the rule, plus the rule's `fieldPath`:
//!   `spec.backends[0].minReplicas`, `spec.backends` (rules on `spec`), `spec.backends[0].workers` (rules on a
//!   backend about its workers), `metadata.name`; map entries are written `headers[user]`. A case's `# path:` is the
//!   offline validator's path, as precise as possible (`spec.backends[1].scalingCost`, `headers.user`). Rule: after
//!   rewriting map subscripts `[key]` to `.key`, the reported field equals the `# path:` or is an ancestor of it
//!   (a prefix followed by `.` or `[`).
//! - Once an OpenAPI check fails, CEL rules are skipped (a cause with field `<nil>`: "some validation rules were not
//!   checked because the object was invalid"), so `# also:` errors are required only when the rules ran.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use booster_testkit::{Cause, Cluster, Reply, load_yaml_documents, workspace_root, yaml_files};
use serde_json::Value;

use crate::{cluster, set_namespace};

/// The spec lists more than 40 V-rule cases; fewer files means the directory was not populated.
const MIN_VALIDATION_CASES: usize = 20;

#[tokio::test]
async fn invalid_model_boosters_are_rejected_naming_the_field() -> Result<()> {
    let cluster = cluster!("admission::invalid_model_boosters_are_rejected_naming_the_field");
    let dir = workspace_root().join("testdata/validation");
    let files = yaml_files(&dir)?;
    ensure!(
        files.len() >= MIN_VALIDATION_CASES,
        "expected at least {MIN_VALIDATION_CASES} validation cases in {}, found {}",
        dir.display(),
        files.len()
    );
    let namespace = cluster.namespace("admission-invalid").await?;
    let mut failures = Vec::new();
    for file in &files {
        let case = Case::read(file)?;
        let reply = case.submit(&cluster, namespace.name()).await?;
        let causes = reply.causes();
        println!("{} ({}): HTTP {}", case.name(), case.rule, reply.status.as_u16());
        for cause in &causes {
            println!("    field {:?} reason {:?} message {:?}", cause.field, cause.reason, cause.message);
        }
        if reply.status != http::StatusCode::UNPROCESSABLE_ENTITY {
            failures.push(format!(
                "{}: expected HTTP 422 (Invalid), got {}: {}",
                case.name(),
                reply.status,
                reply.message()
            ));
            continue;
        }
        let rules_skipped = causes.iter().any(|c| c.message.contains("some validation rules were not checked"));
        for (path, message) in case.expected(!rules_skipped) {
            if !reported(&reply, &causes, path, message) {
                failures.push(format!(
                    "{}: no error at {path} (or an ancestor) containing {message:?}; the API server said: {}",
                    case.name(),
                    reply.message()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), files.len(), failures.join("\n"));
    Ok(())
}

#[tokio::test]
async fn examples_are_accepted() -> Result<()> {
    let cluster = cluster!("admission::examples_are_accepted");
    let dir = workspace_root().join("examples");
    let files = yaml_files(&dir)?;
    ensure!(!files.is_empty(), "expected at least one example in {}", dir.display());
    let namespace = cluster.namespace("admission-examples").await?;
    let mut failures = Vec::new();
    for file in &files {
        for mut object in load_yaml_documents(file)? {
            set_namespace(&mut object, namespace.name());
            let reply = cluster.create(namespace.name(), &object, true).await?;
            if !reply.status.is_success() {
                failures.push(format!("{}: HTTP {}: {}", file.display(), reply.status, reply.message()));
            } else if !reply.warnings.is_empty() {
                failures.push(format!("{}: warnings {:?}", file.display(), reply.warnings));
            }
        }
    }
    assert!(failures.is_empty(), "examples refused:\n{}", failures.join("\n"));
    Ok(())
}

/// One file of `testdata/validation/`: header comments, then one document (two with `# update: true`).
struct Case {
    file: PathBuf,
    rule: String,
    path: String,
    message: String,
    /// `# also: <path>: <message>`: further errors the case cannot avoid.
    also: Vec<(String, String)>,
    update: bool,
    documents: Vec<Value>,
}

impl Case {
    fn read(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let (mut rule, mut path, mut message, mut update, mut also) = (None, None, None, false, Vec::new());
        for line in text.lines().take_while(|l| l.starts_with('#')) {
            let Some((key, value)) = line.trim_start_matches('#').split_once(':') else {
                continue;
            };
            let value = value.trim().to_string();
            match key.trim() {
                "rule" => rule = Some(value),
                "path" => path = Some(value),
                "message" => message = Some(value),
                "update" => update = value == "true",
                "also" => match value.split_once(": ") {
                    Some((p, m)) => also.push((p.trim().to_string(), m.trim().to_string())),
                    None => bail!("{}: `# also:` needs `<path>: <message>`", file.display()),
                },
                _ => {}
            }
        }
        let missing = |what: &str| format!("{}: missing `# {what}:` header", file.display());
        let case = Self {
            file: file.to_path_buf(),
            rule: rule.with_context(|| missing("rule"))?,
            path: path.with_context(|| missing("path"))?,
            message: message.with_context(|| missing("message"))?,
            also,
            update,
            documents: load_yaml_documents(file)?,
        };
        let expected_documents = if case.update { 2 } else { 1 };
        ensure!(
            case.documents.len() == expected_documents,
            "{}: {} documents, expected {expected_documents}",
            case.name(),
            case.documents.len()
        );
        Ok(case)
    }

    fn name(&self) -> String {
        self.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// The errors the API server must report: the case's own, and its `# also:` ones when CEL rules ran.
    fn expected(&self, with_also: bool) -> impl Iterator<Item = (&str, &str)> {
        let also = if with_also { self.also.as_slice() } else { &[] };
        std::iter::once((self.path.as_str(), self.message.as_str()))
            .chain(also.iter().map(|(p, m)| (p.as_str(), m.as_str())))
    }

    /// Creates the object (or creates the old one and updates it to the new one) and returns the answer.
    async fn submit(&self, cluster: &Cluster, namespace: &str) -> Result<Reply> {
        let mut documents = self.documents.clone();
        for document in &mut documents {
            set_namespace(document, namespace);
        }
        let Some(mut new) = documents.pop() else {
            bail!("{}: no document", self.name());
        };
        if let Some(old) = documents.pop() {
            let created = cluster.create(namespace, &old, false).await?;
            ensure!(
                created.status.is_success(),
                "{}: creating the old object: HTTP {}: {}",
                self.name(),
                created.status,
                created.message()
            );
            new["metadata"]["resourceVersion"] = created.body["metadata"]["resourceVersion"].clone();
            Ok(cluster.replace(namespace, &new).await?)
        } else {
            Ok(cluster.create(namespace, &new, false).await?)
        }
    }
}

/// Whether the rejection holds an error containing `message` at `path` or at an ancestor of it.
fn reported(reply: &Reply, causes: &[Cause], path: &str, message: &str) -> bool {
    if causes.is_empty() {
        let text = reply.message();
        return text.contains(message) && text.contains(path.split(['[', '.']).next().unwrap_or(path));
    }
    causes.iter().any(|cause| cause.message.contains(message) && field_covers(&cause.field, path))
}

/// `reported` equals `offline` or is an ancestor of it (`spec.backends` covers `spec.backends[1].scalingCost`), after
/// rewriting the API server's map subscripts (`headers[user]`) to the offline form (`headers.user`).
fn field_covers(reported: &str, offline: &str) -> bool {
    let reported = map_keys_as_fields(reported);
    match offline.strip_prefix(reported.as_str()) {
        Some(rest) => rest.is_empty() || rest.starts_with('.') || rest.starts_with('['),
        None => false,
    }
}

/// `a.headers[user].b` → `a.headers.user.b`; list indices (`[0]`) stay.
fn map_keys_as_fields(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']').map(|c| open + c) else {
            break;
        };
        let key = &rest[open + 1..close];
        out.push_str(&rest[..open]);
        if !key.is_empty() && key.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&rest[open..=close]);
        } else {
            out.push('.');
            out.push_str(key);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn field_paths_cover_their_descendants() {
    assert!(field_covers("spec.modelMatch.headers[user]", "spec.modelMatch.headers.user"));
    assert_eq!(map_keys_as_fields("a.headers[user].b[0][1]"), "a.headers.user.b[0][1]");
    assert!(field_covers("spec.backends[0].minReplicas", "spec.backends[0].minReplicas"));
    assert!(field_covers("spec.backends", "spec.backends[1].scalingCost"));
    assert!(field_covers("spec.backends[0].workers", "spec.backends[0].workers[2].type"));
    assert!(!field_covers("spec.backends[1]", "spec.backends[10].name"));
    assert!(!field_covers("spec.backend", "spec.backends"));
    assert!(!field_covers("spec.backends[0].workers[0]", "spec.backends[0]"));
}
