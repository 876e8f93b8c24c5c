//! Strict decoding of Kubernetes documents, for offline use (CLI, tests).
//!
//! The types themselves are lenient (live objects carry fields other controllers add). Offline, a field the type
//! does not know is almost always a typo, so this module rejects it, with the JSON path of the field, as it rejects
//! a wrong `apiVersion` or `kind`. Matching is case-sensitive.

use kube::Resource;
use serde::de::DeserializeOwned;
use serde_yaml::Value;

/// Why a document could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    /// The text is not YAML; the message names line and column.
    #[error("{0}")]
    Syntax(String),
    /// The document is not a mapping, or has no `apiVersion`/`kind`.
    #[error("{0}")]
    NotAnObject(String),
    /// The document is of another kind.
    #[error(
        "expected apiVersion {expected_api_version} and kind {expected_kind}, found apiVersion {api_version:?} and kind {kind:?}"
    )]
    WrongKind {
        /// `apiVersion` of the type.
        expected_api_version: String,
        /// `kind` of the type.
        expected_kind: String,
        /// `apiVersion` of the document.
        api_version: String,
        /// `kind` of the document.
        kind: String,
    },
    /// A field the type does not know.
    #[error("{path}: unknown field")]
    UnknownField {
        /// JSON path of the field.
        path: String,
    },
    /// A value of the wrong type, or a missing required field.
    #[error("{path}: {message}")]
    Invalid {
        /// JSON path of the value (`.` for the document itself).
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Splits a YAML stream into its documents, skipping empty ones (a stream may end with `---`).
pub fn documents(text: &str) -> Result<Vec<Value>, DecodeError> {
    let mut docs = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value: Value = serde::Deserialize::deserialize(document).map_err(|e| DecodeError::Syntax(e.to_string()))?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// Decodes one document into a Kubernetes object of kind `K`, strictly.
pub fn decode<K>(mut document: Value) -> Result<K, DecodeError>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    check_kind::<K>(&document)?;
    // Checked above; the types derive them from the Rust type instead of reading them.
    if let Some(map) = document.as_mapping_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    decode_value(document)
}

/// Decodes a value into `T`, strictly, without checking `apiVersion` and `kind`.
pub fn decode_value<T: DeserializeOwned>(value: Value) -> Result<T, DecodeError> {
    let mut unknown = None;
    let mut track = |path: serde_ignored::Path<'_>| {
        unknown.get_or_insert_with(|| json_path(&ignored_path(&path)));
    };
    let tracked = serde_ignored::Deserializer::new(value, &mut track);
    let decoded = serde_path_to_error::deserialize(tracked);
    if let Some(path) = unknown {
        return Err(DecodeError::UnknownField { path });
    }
    decoded.map_err(|e| DecodeError::Invalid {
        path: json_path(&e.path().to_string()),
        message: e.into_inner().to_string(),
    })
}

/// Decodes every document of a YAML stream as `K`.
pub fn decode_all<K>(text: &str) -> Result<Vec<K>, DecodeError>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    documents(text)?.into_iter().map(decode).collect()
}

fn check_kind<K: Resource<DynamicType = ()>>(document: &Value) -> Result<(), DecodeError> {
    let Some(map) = document.as_mapping() else {
        return Err(DecodeError::NotAnObject("a document must be a mapping with apiVersion, kind and metadata".into()));
    };
    let field = |name: &str| map.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
        return Err(DecodeError::NotAnObject("a document must have string fields apiVersion and kind".into()));
    };
    let (expected_api_version, expected_kind) = (K::api_version(&()), K::kind(&()));
    if api_version != expected_api_version || kind != expected_kind {
        return Err(DecodeError::WrongKind {
            expected_api_version: expected_api_version.into_owned(),
            expected_kind: expected_kind.into_owned(),
            api_version,
            kind,
        });
    }
    Ok(())
}

/// A `serde_ignored` path in JSON-path form (`spec.backends[0].name`).
fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => match ignored_path(parent) {
            prefix if prefix.is_empty() => key.clone(),
            prefix => format!("{prefix}.{key}"),
        },
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

/// serde's paths (`spec.backends[0].name`, `?` at the root) as JSON paths.
fn json_path(serde_path: &str) -> String {
    match serde_path {
        "" | "?" | "." => ".".into(),
        path => path.to_owned(),
    }
}
