//! Raw requests whose answer is inspected whole: status, `Warning` headers, and the body (a `Status` on errors).

use kube::client::Body;
use serde_json::Value;

use crate::Result;

/// An API server answer, successful or not.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: http::StatusCode,
    /// The texts of the `Warning` headers (`299 - "<text>"`).
    pub warnings: Vec<String>,
    /// The JSON body (a string value when the body is not JSON).
    pub body: Value,
}

/// One entry of a `Status`'s `details.causes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    pub field: String,
    pub message: String,
    pub reason: String,
}

impl Reply {
    /// `Status.message` of an error answer (or the whole body when it is not a `Status`).
    pub fn message(&self) -> String {
        match self.body.get("message").and_then(Value::as_str) {
            Some(message) => message.to_string(),
            None => self.body.to_string(),
        }
    }

    /// `Status.details.causes` of an error answer.
    pub fn causes(&self) -> Vec<Cause> {
        let text = |cause: &Value, key: &str| cause.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        self.body
            .pointer("/details/causes")
            .and_then(Value::as_array)
            .map(|causes| {
                causes
                    .iter()
                    .map(|c| Cause { field: text(c, "field"), message: text(c, "message"), reason: text(c, "reason") })
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) async fn send(client: &kube::Client, request: http::Request<Vec<u8>>) -> Result<Reply> {
    let response = client.send(request.map(Body::from)).await?;
    let status = response.status();
    let warnings = response
        .headers()
        .get_all(http::header::WARNING)
        .iter()
        .map(|value| warning_text(&String::from_utf8_lossy(value.as_bytes())))
        .collect();
    let bytes = response.into_body().collect_bytes().await?;
    let body =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok(Reply { status, warnings, body })
}

/// The quoted text of a `Warning` header value (`299 - "text"`, RFC 7234 §5.5), unescaped.
fn warning_text(header: &str) -> String {
    let Some(start) = header.find('"') else {
        return header.to_string();
    };
    let mut text = String::new();
    let mut chars = header[start + 1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.extend(chars.next()),
            '"' => break,
            c => text.push(c),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::warning_text;

    #[test]
    fn warning_header_texts() {
        assert_eq!(warning_text(r#"299 - "unknown field \"x\"""#), r#"unknown field "x""#);
        assert_eq!(warning_text("299 - \"plain\" \"Mon, 01 Jan 2024\""), "plain");
        assert_eq!(warning_text("no quotes"), "no quotes");
    }
}
