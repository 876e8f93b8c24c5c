//! Where test inputs live, and reading them.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::{Error, Result};

/// The workspace root (`crates/booster-testkit/../..`).
pub fn workspace_root() -> PathBuf {
    normalize(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The read-only `shared/` directory beside the repository (`<workspace>/../shared`).
pub fn shared_dir() -> PathBuf {
    normalize(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn normalize(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The `*.yaml` files of a directory, sorted; an absent directory has none.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io { context: format!("listing {}", dir.display()), source });
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| Error::Io { context: format!("listing {}", dir.display()), source })?.path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Every YAML document of a file as JSON (empty documents skipped).
pub fn load_yaml_documents(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| Error::Io { context: format!("reading {}", path.display()), source })?;
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value = Value::deserialize(document)
            .map_err(|source| Error::Yaml { context: format!("parsing {}", path.display()), source })?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}
