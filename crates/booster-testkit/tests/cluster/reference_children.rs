//! The reference project's expected children (after the spec's fixture fixes, N-2) are accepted by our
//! child CRDs: server-side dry-run create with strict field validation.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use booster_testkit::{load_yaml_documents, shared_dir, yaml_files};
use serde_json::Value;

use crate::{cluster, set_namespace};

/// Any non-empty string is a valid owner uid for the API server (it checks presence, not existence); a dry run
/// never reaches the garbage collector, so no owner needs to exist.
const OWNER_UID: &str = "00000000-0000-4000-8000-000000000001";

#[tokio::test]
async fn reference_children_are_accepted_by_our_crds() -> Result<()> {
    let cluster = cluster!("reference_children::reference_children_are_accepted_by_our_crds");
    let namespace = cluster.namespace("reference-children").await?;
    let dir = shared_dir().join("reference/kthena-v0.1.0/convert/expected");
    let files = yaml_files(&dir)?;
    ensure!(files.len() >= 11, "expected the 11 reference files in {}, found {}", dir.display(), files.len());
    let mut failures = Vec::new();
    for file in &files {
        let object = fixed_reference_child(file, namespace.name())?;
        let reply = cluster.create(namespace.name(), &object, true).await?;
        let name = file_name(file);
        if !reply.status.is_success() {
            failures.push(format!("{name}: HTTP {}: {}", reply.status, reply.message()));
        } else if !reply.warnings.is_empty() {
            failures.push(format!("{name}: warnings {:?}", reply.warnings));
        }
    }
    assert!(failures.is_empty(), "reference children refused:\n{}", failures.join("\n"));
    Ok(())
}

/// A reference expected object with the fixture fixes applied, in `namespace`, owned by a ModelBooster with uid
/// [`OWNER_UID`].
pub fn fixed_reference_child(file: &Path, namespace: &str) -> Result<Value> {
    let mut documents = load_yaml_documents(file)?;
    ensure!(documents.len() == 1, "{} holds {} documents, expected 1", file.display(), documents.len());
    let mut object = documents.remove(0);
    let name = file_name(file);
    // the model downloader's `envfrom` (the Go decoder matched it case-insensitively).
    let renamed = rename_keys(&mut object, "envfrom", "envFrom");
    ensure!((name == "model-serving.yaml") == (renamed > 0), "A-1 renamed {renamed} keys in {name}");
    // `metricFrom: {}` under binding targets, a field that does not exist.
    let removed = remove_under(&mut object, "target", "metricFrom");
    let binding = name.ends_with("-asp-binding.yaml");
    ensure!(binding == (removed > 0), "A-2 removed {removed} metricFrom keys in {name}");
    // N-2: top-level status.
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    set_namespace(&mut object, namespace);
    let references = object
        .pointer_mut("/metadata/ownerReferences")
        .and_then(Value::as_array_mut)
        .with_context(|| format!("{name} has no ownerReferences"))?;
    for reference in references {
        reference["uid"] = OWNER_UID.into();
    }
    Ok(object)
}

fn file_name(file: &Path) -> String {
    file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Renames every key `from` to `to`, at any depth; returns how many.
fn rename_keys(value: &mut Value, from: &str, to: &str) -> usize {
    match value {
        Value::Object(map) => {
            let mut count = 0;
            if let Some(v) = map.remove(from) {
                map.insert(to.into(), v);
                count += 1;
            }
            count + map.values_mut().map(|v| rename_keys(v, from, to)).sum::<usize>()
        }
        Value::Array(items) => items.iter_mut().map(|v| rename_keys(v, from, to)).sum(),
        _ => 0,
    }
}

/// Removes key `key` from every object that is the value of a key `parent`, at any depth; returns how many.
fn remove_under(value: &mut Value, parent: &str, key: &str) -> usize {
    match value {
        Value::Object(map) => map
            .iter_mut()
            .map(|(k, v)| {
                let here = match (k == parent, v.as_object_mut()) {
                    (true, Some(child)) => usize::from(child.remove(key).is_some()),
                    _ => 0,
                };
                here + remove_under(v, parent, key)
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(|v| remove_under(v, parent, key)).sum(),
        _ => 0,
    }
}
