//! The texts of OpenAPI constraint errors, in the API server's wording (spec §3.1). Every such text is built here
//! and nowhere else, so aligning them with what a given kube-apiserver prints is a change to this file alone.
//!
//! The API server builds these texts in two places: `field.TooLongMaxLength` and `field.TooMany` (apimachinery)
//! for `maxLength`, `maxItems` and `maxProperties`, and kube-openapi's validator for `minimum`, `maximum`,
//! `pattern` and `minItems`, whose full text is `<path> in body should …`; offline messages leave out the
//! `<path> in body ` prefix (the path is the error's own path). kube-openapi formats bounds with Go's `%v` of a
//! `float64`, which writes 1000000 as `1e+06`.

/// `maxLength` violated (`field.TooLong`; Kubernetes ≥ 1.32 counts bytes).
pub(crate) fn too_long(max: usize) -> String {
    format!("may not be more than {max} bytes")
}

/// `pattern` violated.
pub(crate) fn pattern(regex: &str) -> String {
    format!("should match '{regex}'")
}

/// `minimum` violated.
pub(crate) fn too_small(min: i64) -> String {
    format!("should be greater than or equal to {}", go_float(min))
}

/// `maximum` violated.
pub(crate) fn too_large(max: i64) -> String {
    format!("should be less than or equal to {}", go_float(max))
}

/// `minItems` violated.
pub(crate) fn too_few_items(min: usize) -> String {
    format!("should have at least {min} items")
}

/// `maxItems` violated.
pub(crate) fn too_many_items(max: usize) -> String {
    format!("must have at most {max} items")
}

/// `maxProperties` violated (the API server reports it as `field.TooMany`, like `maxItems`).
pub(crate) fn too_many_properties(max: usize) -> String {
    format!("must have at most {max} items")
}

/// A second item with the same key in an `x-kubernetes-list-type: map` list (`field.Duplicate` of the key map,
/// printed with Go's `%#v`).
pub(crate) fn duplicate_key(key: &str, value: &str) -> String {
    format!("Duplicate value: map[string]interface {{}}{{{}:{}}}", go_quote(key), go_quote(value))
}

/// An integer as Go's `%v` prints it once converted to `float64` (`%g` with the shortest precision): plain when its
/// decimal exponent is below 6, else in exponent form (`100000` → `100000`, `1000000` → `1e+06`).
fn go_float(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let exponent = digits.len().saturating_sub(1);
    let sign = if n < 0 { "-" } else { "" };
    if exponent < 6 {
        return format!("{sign}{digits}");
    }
    let significant = digits.trim_end_matches('0');
    let (first, rest) = significant.split_at(1.min(significant.len()));
    let mantissa = if rest.is_empty() { first.to_owned() } else { format!("{first}.{rest}") };
    format!("{sign}{mantissa}e+{exponent:02}")
}

/// A string as Go's `%q` (and `%#v`) prints it.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_matches_go_percent_v() {
        assert_eq!(go_float(0), "0");
        assert_eq!(go_float(1), "1");
        assert_eq!(go_float(110), "110");
        assert_eq!(go_float(100_000), "100000");
        assert_eq!(go_float(1_000_000), "1e+06");
        assert_eq!(go_float(1_500_000), "1.5e+06");
        assert_eq!(go_float(-1_000_000), "-1e+06");
    }

    #[test]
    fn duplicate_key_matches_go_percent_sharp_v() {
        assert_eq!(duplicate_key("name", "a\"b"), r#"Duplicate value: map[string]interface {}{"name":"a\"b"}"#);
    }
}
