//! D-15: the revision label is a content hash of a child's rendered spec.
//!
//! `revision` = the first 10 lowercase hex characters of SHA-256 over the canonical JSON of the spec: UTF-8, no
//! whitespace, object keys sorted by byte order at every level, strings escaped as `serde_json` does.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The revision of a rendered spec.
pub fn of(spec: &Value) -> String {
    let digest = Sha256::digest(canonical_json(spec).as_bytes());
    digest.iter().take(5).map(|byte| format!("{byte:02x}")).collect()
}

/// Compact JSON with object keys sorted at every level (independent of serde_json's `preserve_order`).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn empty_spec_matches_the_spec_test_vector() {
        assert_eq!(of(&json!({})), "44136fa355");
    }

    #[test]
    fn autoscaling_policy_matches_the_spec_test_vector() {
        let spec = json!({"tolerancePercent": 10, "metrics": [{"targetValue": "10", "metricName": "vllm:iteration_tokens_total"}]});
        assert_eq!(
            canonical_json(&spec),
            r#"{"metrics":[{"metricName":"vllm:iteration_tokens_total","targetValue":"10"}],"tolerancePercent":10}"#
        );
        assert_eq!(of(&spec), "d441cbf836");
    }

    #[test]
    fn keys_sort_by_bytes_and_arrays_keep_their_order() {
        let value = json!({"b": [3, 1, {"Z": null, "_": "é\"x"}], "a-b": true, "A": 1.5});
        assert_eq!(canonical_json(&value), r#"{"A":1.5,"a-b":true,"b":[3,1,{"Z":null,"_":"é\"x"}]}"#);
    }
}
