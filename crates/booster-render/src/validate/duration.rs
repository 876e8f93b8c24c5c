//! Go durations, as CEL's `duration()` reads them (it calls Go's `time.ParseDuration`).
//!
//! A port of `time.ParseDuration`: an optional sign, then one or more `<number><unit>` terms, where a number is
//! `digits`, `digits.`, `digits.digits` or `.digits` and the units are `ns`, `us`, `µs` (U+00B5), `μs` (U+03BC),
//! `ms`, `s`, `m`, `h`; `0` alone needs no unit. Fractions are converted with the same `float64` arithmetic as
//! Go, so values at the boundaries compare as the API server compares them.

use std::fmt;

/// Nanoseconds in one second.
pub const SECOND: i64 = 1_000_000_000;
/// Nanoseconds in one minute.
pub const MINUTE: i64 = 60 * SECOND;

/// Why a string is not a Go duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// Not the syntax of a Go duration (Go: `invalid duration`, `missing unit`, `unknown unit`).
    Invalid,
    /// Well formed, but beyond ±(2^63-1) ns (Go reports it as `invalid duration`); `negative` tells which side.
    Overflow {
        /// The value is below `i64::MIN` ns.
        negative: bool,
    },
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid => f.write_str("invalid duration"),
            Self::Overflow { .. } => f.write_str("duration out of range"),
        }
    }
}

impl std::error::Error for DurationError {}

const LIMIT: u64 = 1 << 63;

/// Parses a Go duration into nanoseconds, as `time.ParseDuration` does.
pub fn parse(text: &str) -> Result<i64, DurationError> {
    let mut s = text.as_bytes();
    let mut negative = false;
    if let Some((&c, rest)) = s.split_first()
        && (c == b'-' || c == b'+')
    {
        negative = c == b'-';
        s = rest;
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(DurationError::Invalid);
    }
    let overflow = DurationError::Overflow { negative };
    let mut total: u64 = 0;
    while let Some(&first) = s.first() {
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(DurationError::Invalid);
        }
        let before = s.len();
        let (whole, rest) = leading_int(s).ok_or(overflow)?;
        s = rest;
        let pre = before != s.len();
        let (mut fraction, mut scale, mut post) = (0u64, 1f64, false);
        if let Some((b'.', rest)) = s.split_first() {
            let before = rest.len();
            let (f, sc, rest) = leading_fraction(rest);
            (fraction, scale, s) = (f, sc, rest);
            post = before != s.len();
        }
        if !pre && !post {
            return Err(DurationError::Invalid);
        }
        let unit_len = s.iter().position(|&c| c == b'.' || c.is_ascii_digit()).unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::Invalid);
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let unit: u64 = match unit {
            b"ns" => 1,
            b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
            b"ms" => 1_000_000,
            b"s" => 1_000_000_000,
            b"m" => 60 * 1_000_000_000,
            b"h" => 3_600 * 1_000_000_000,
            _ => return Err(DurationError::Invalid),
        };
        if whole > LIMIT / unit {
            return Err(overflow);
        }
        let mut value = whole * unit;
        if fraction > 0 {
            // Go: v += uint64(float64(f) * (float64(unit) / scale)); at most 3.6e12, so no u64 overflow.
            value += (fraction as f64 * (unit as f64 / scale)) as u64;
            if value > LIMIT {
                return Err(overflow);
            }
        }
        // Go adds in uint64 and wraps (both terms are at most 2^63); the check below then sees the wrapped sum.
        total = total.wrapping_add(value);
        if total > LIMIT {
            return Err(overflow);
        }
    }
    if negative {
        // -Duration(d) in Go: 2^63 becomes i64::MIN.
        return Ok((total as i64).wrapping_neg());
    }
    i64::try_from(total).map_err(|_| overflow)
}

/// The duration as an `i128` of nanoseconds, with an out-of-range value beyond every `i64`: for the range and
/// equality checks of V-1, V-7 and V-43. `None` when the text is not a Go duration at all.
pub(crate) fn nanos_for_comparison(text: &str) -> Option<i128> {
    match parse(text) {
        Ok(n) => Some(i128::from(n)),
        Err(DurationError::Overflow { negative: true }) => Some(i128::from(i64::MIN) - 1),
        Err(DurationError::Overflow { negative: false }) => Some(i128::from(i64::MAX) + 1),
        Err(DurationError::Invalid) => None,
    }
}

/// Go's `leadingInt`: the leading decimal digits, `None` on overflow.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(c - b'0');
        if x > LIMIT {
            return None;
        }
        i += 1;
    }
    Some((x, s.get(i..).unwrap_or_default()))
}

/// Go's `leadingFraction`: the digits after the point as an integer and its scale (10^digits kept), ignoring
/// digits that would overflow.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let mut x: u64 = 0;
    let mut scale = 1f64;
    let mut overflowed = false;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        i += 1;
        if overflowed {
            continue;
        }
        if x > (LIMIT - 1) / 10 {
            overflowed = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > LIMIT {
            overflowed = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, s.get(i..).unwrap_or_default())
}
