//! Kubernetes resource quantities: syntax and numeric value.

/// The value of a quantity string (`100m`, `2`, `1.5Gi`, `1e3`), or `None` when it is not a quantity.
pub fn value(text: &str) -> Option<f64> {
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => (-1.0, &text[1..]),
        Some(b'+') => (1.0, &text[1..]),
        _ => (1.0, text),
    };
    let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let magnitude = parse_number(number)?;
    Some(sign * magnitude * suffix_multiplier(suffix)?)
}

/// `<digits>`, `<digits>.<digits>`, `<digits>.` or `.<digits>`.
fn parse_number(number: &str) -> Option<f64> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    number.parse().ok()
}

fn suffix_multiplier(suffix: &str) -> Option<f64> {
    let binary = |power: i32| Some(1024f64.powi(power));
    let decimal = |power: i32| Some(10f64.powi(power));
    match suffix {
        "" => decimal(0),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        exponent => {
            let exponent = exponent.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            decimal(exponent.parse().ok()?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn values() {
        assert_eq!(value("1"), Some(1.0));
        assert_eq!(value("100m"), Some(0.1));
        assert_eq!(value("1Gi"), Some(1024f64.powi(3)));
        assert_eq!(value("1.5"), Some(1.5));
        assert_eq!(value(".5"), Some(0.5));
        assert_eq!(value("5."), Some(5.0));
        assert_eq!(value("-2k"), Some(-2000.0));
        assert_eq!(value("1e3"), Some(1000.0));
        assert_eq!(value("1E-3"), Some(0.001));
    }

    #[test]
    fn rejects_non_quantities() {
        for text in ["", ".", "abc", "1x", "1ki", "1e", "1e+", "--1", "1.2.3", "Mi"] {
            assert_eq!(value(text), None, "{text}");
        }
    }
}
