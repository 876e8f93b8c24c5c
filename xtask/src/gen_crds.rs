//! `cargo xtask gen-crds [--check]`: the committed CRD files are generated from the API types.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use booster_api::crds;

/// Directory of the CRD the Helm chart installs.
pub const CHART_CRDS: &str = "charts/model-booster/crds";
/// Directory of the Kthena child CRDs, for clusters without Kthena.
pub const KTHENA_CRDS: &str = "charts/model-booster/kthena-crds";

/// Every CRD file with its generated content, relative to the workspace root.
pub fn generated() -> Vec<(PathBuf, String)> {
    let booster = crds::model_booster();
    let mut files = vec![(Path::new(CHART_CRDS).join(crds::file_name(&booster)), crds::to_yaml(&booster))];
    files.extend(
        crds::children().iter().map(|crd| (Path::new(KTHENA_CRDS).join(crds::file_name(crd)), crds::to_yaml(crd))),
    );
    files
}

pub fn run(root: &Path, check: bool) -> Result<()> {
    let files = generated();
    if check {
        let stale: Vec<String> = files
            .iter()
            .filter(|(path, content)| fs::read_to_string(root.join(path)).ok().as_deref() != Some(content.as_str()))
            .map(|(path, _)| path.display().to_string())
            .collect();
        let unexpected = unexpected_files(root, &files)?;
        if !stale.is_empty() || !unexpected.is_empty() {
            for path in &stale {
                eprintln!("stale: {path} differs from the API types");
            }
            for path in &unexpected {
                eprintln!("unexpected: {path} is not generated from the API types");
            }
            bail!("CRD files are out of date; run `cargo xtask gen-crds` and commit the result");
        }
        println!("{} CRD files are up to date", files.len());
        return Ok(());
    }
    for dir in [CHART_CRDS, KTHENA_CRDS] {
        let dir = root.join(dir);
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for (path, content) in &files {
        fs::write(root.join(path), content).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Files in the CRD directories that no type generates (e.g. a renamed kind).
fn unexpected_files(root: &Path, files: &[(PathBuf, String)]) -> Result<Vec<String>> {
    let mut unexpected = Vec::new();
    for dir in [CHART_CRDS, KTHENA_CRDS] {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = Path::new(dir).join(entry.context("listing CRD files")?.file_name());
            if !files.iter().any(|(generated, _)| *generated == path) {
                unexpected.push(path.display().to_string());
            }
        }
    }
    Ok(unexpected)
}
