//! Kubernetes quantities: their sign, as CEL's `isQuantity()` and `quantity(…).sign()` read them (Go's
//! `resource.ParseQuantity`), and their value.
//!
//! Grammar (the `Quantity` documentation of k8s-openapi):
//!
//! ```text
//! <quantity>        ::= <signedNumber><suffix>
//! <signedNumber>    ::= <number> | <sign><number>
//! <sign>            ::= "+" | "-"
//! <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//! <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//! <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
//! <decimalSI>       ::= m | "" | k | M | G | T | P | E
//! <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
//! ```
//!
//! Where Go's parser accepts more or less than the grammar, this module follows the parser, since that is what
//! the API server runs: the decimal suffixes also include `n` and `u`; an exponent is an integer (`1e2.5` is
//! rejected); the digits of the number may be missing altogether (`.`, `-`, `+.` parse as zero); no whitespace.
//! Values are never rejected for size or precision (Go caps and rounds them, away from zero), so only the sign
//! of the digits matters.

/// The sign of a quantity (`-1`, `0` or `1`, as CEL's `sign()`), or `None` if `text` is not a quantity (CEL's
/// `isQuantity` is false).
pub fn sign(text: &str) -> Option<i8> {
    if text.is_empty() {
        return None;
    }
    let s = text.as_bytes();
    let mut pos = 0;
    let mut positive = true;
    match s.first() {
        Some(b'-') => {
            positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    let mut nonzero = false;
    // The number: digits, then an optional point and digits.
    let digits = |pos: &mut usize, nonzero: &mut bool| {
        while let Some(c) = s.get(*pos).filter(|c| c.is_ascii_digit()) {
            *nonzero |= *c != b'0';
            *pos += 1;
        }
    };
    digits(&mut pos, &mut nonzero);
    if s.get(pos) == Some(&b'.') {
        pos += 1;
        digits(&mut pos, &mut nonzero);
    }
    // The suffix: letters of "eEinumkKMGTP", an optional sign, digits; it must reach the end.
    let suffix = s.get(pos..).unwrap_or_default();
    let letters = suffix.iter().position(|c| !b"eEinumkKMGTP".contains(c)).unwrap_or(suffix.len());
    let mut end = letters;
    if matches!(suffix.get(end), Some(b'-' | b'+')) {
        end += 1;
    }
    while suffix.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    if end != suffix.len() {
        return None;
    }
    if !valid_suffix(suffix) {
        return None;
    }
    Some(match (nonzero, positive) {
        (false, _) => 0,
        (true, true) => 1,
        (true, false) => -1,
    })
}

/// Go's `quantitySuffixer.interpret`: a decimal or binary SI suffix, or `e`/`E` and an `int64`.
fn valid_suffix(suffix: &[u8]) -> bool {
    const SI: [&[u8]; 16] =
        [b"", b"n", b"u", b"m", b"k", b"M", b"G", b"T", b"P", b"E", b"Ki", b"Mi", b"Gi", b"Ti", b"Pi", b"Ei"];
    if SI.contains(&suffix) {
        return true;
    }
    match suffix.split_first() {
        Some((b'e' | b'E', exponent)) if !exponent.is_empty() => {
            std::str::from_utf8(exponent).ok().and_then(|e| e.parse::<i64>().ok()).is_some()
        }
        _ => false,
    }
}

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
        "n" => decimal(-9),
        "u" => decimal(-6),
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
