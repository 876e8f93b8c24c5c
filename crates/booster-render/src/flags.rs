//! D-2: worker `config` → engine command-line flags.

use serde_json::{Map, Value};

use crate::revision::canonical_json;

/// `"--" + key` with every `_` replaced by `-`; no case change.
pub fn flag_name(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

/// The flags of an (effective) config, keys in byte order.
pub fn render(config: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<&String> = config.keys().collect();
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut args = Vec::new();
    for key in keys {
        match &config[key] {
            Value::Null | Value::Bool(false) => {}
            Value::Bool(true) => args.push(flag_name(key)),
            Value::String(s) if s.is_empty() => args.push(flag_name(key)),
            value => args.extend([flag_name(key), value_argument(value)]),
        }
    }
    args
}

fn value_argument(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            // Rust's `Display` for f64 is the shortest round-tripping decimal, never in exponent form.
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        other => canonical_json(other),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn flags(config: Value) -> Vec<String> {
        match config {
            Value::Object(map) => render(&map),
            _ => unreachable!("tests pass objects"),
        }
    }

    #[test]
    fn d2_value_forms() {
        let config = json!({
            "trust-remote-code": "",
            "enforce_eager": true,
            "disabled": false,
            "nothing": null,
            "max-model-len": 1000000,
            "negative": -1000000,
            "big": 21474836470u64,
            "ratio": 0.9,
            "tiny": 0.00001,
            "whole": 1.0,
            "half": 2.50,
            "obj": {"b": [true, "x"], "a": 1},
            "list": [1, "a", true],
            "text": "  spaced  ",
        });
        assert_eq!(
            flags(config),
            [
                "--big",
                "21474836470",
                "--enforce-eager",
                "--half",
                "2.5",
                "--list",
                r#"[1,"a",true]"#,
                "--max-model-len",
                "1000000",
                "--negative",
                "-1000000",
                "--obj",
                r#"{"a":1,"b":[true,"x"]}"#,
                "--ratio",
                "0.9",
                "--text",
                "  spaced  ",
                "--tiny",
                "0.00001",
                "--trust-remote-code",
                "--whole",
                "1",
            ]
        );
    }

    #[test]
    fn keys_sort_by_original_bytes_and_both_spellings_are_emitted() {
        assert_eq!(flags(json!({"a_b": "2", "a-b": "1", "B": "3"})), ["--B", "3", "--a-b", "1", "--a-b", "2"]);
    }

    #[test]
    fn leading_underscore_becomes_a_dash() {
        assert_eq!(flag_name("_x"), "---x");
    }
}
