//! Reading ModelBooster documents from a file or standard input, strictly.

use std::io::Read;
use std::path::Path;

use booster_api::ModelBooster;
use booster_api::strict;

/// The uid of a ModelBooster that has none (offline rendering).
pub const ZERO_UID: &str = "00000000-0000-0000-0000-000000000000";

/// Why the input could not be used; the commands exit with status 2.
#[derive(Debug)]
pub struct InputError(pub String);

/// Reads every ModelBooster document of `file` (`-` is standard input).
pub fn read(file: &Path) -> Result<Vec<ModelBooster>, InputError> {
    let source = source_name(file);
    let text = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| InputError(format!("reading standard input: {e}")))?;
        text
    } else {
        std::fs::read_to_string(file).map_err(|e| InputError(format!("reading {}: {e}", file.display())))?
    };
    let documents = strict::documents(&text).map_err(|e| InputError(format!("{source}: {e}")))?;
    if documents.is_empty() {
        return Err(InputError(format!("{source}: no ModelBooster document")));
    }
    documents
        .into_iter()
        .enumerate()
        .map(|(index, document)| {
            strict::decode::<ModelBooster>(document)
                .map_err(|e| InputError(format!("{source} (document {}): {e}", index + 1)))
        })
        .collect()
}

fn source_name(file: &Path) -> String {
    if file == Path::new("-") { "standard input".into() } else { file.display().to_string() }
}

/// `<namespace>/<name>` of a document, for messages.
pub fn display_name(m: &ModelBooster) -> String {
    let name = m.metadata.name.as_deref().unwrap_or("<unnamed>");
    match m.metadata.namespace.as_deref() {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    }
}
