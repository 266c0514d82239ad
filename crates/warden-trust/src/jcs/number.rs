//! Number text for the two canonical forms, built from the same shortest
//! round-trip digits.
//!
//! RFC 8785 §3.2.2.3 prescribes ECMAScript's `Number::toString`; CPython's
//! `float.__repr__` (what `json.dumps` writes) starts from the same digits but
//! places the decimal point and writes the exponent differently. Both take
//! the *shortest* digit string that reads back as the same double, nearest
//! to the exact value (ties to even); Rust's formatting provides those
//! digits, so only the layout is written here.

/// The shortest round-trip decimal digits of a positive finite `x` and the
/// position of the decimal point: `x = 0.d1d2…dk × 10^point`.
///
/// When two `k`-digit strings read back as `x` and are equally near it,
/// ECMAScript and CPython take the even one (`773744735207156.25` is written
/// `…156.2`), while Rust's shortest formatting rounds such a tie up. So the
/// length comes from `{:e}` and the digits from `{:.prec$e}`, which rounds
/// the exact value half-to-even, whenever that string still reads back as `x`
/// (near a power of two it may not, and then only the first one does).
fn shortest_digits(x: f64) -> (String, i32) {
    let shortest = split_exponent(&format!("{x:e}"));
    let precision = shortest.0.len().saturating_sub(1);
    let nearest_text = format!("{x:.precision$e}");
    if nearest_text.parse::<f64>() == Ok(x) {
        let nearest = split_exponent(&nearest_text);
        // A round-tripping k-digit string has no trailing zero, or a shorter
        // one would exist; checked rather than assumed.
        if !nearest.0.ends_with('0') {
            return nearest;
        }
    }
    shortest
}

/// `d[.ddd]e[-]N` (Rust's exponent form) as digits and decimal point.
fn split_exponent(text: &str) -> (String, i32) {
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    (digits, exponent + 1)
}

/// ECMAScript `Number::toString(x)` (ECMA-262 §6.1.6.1.20), as RFC 8785
/// requires: `None` for NaN and infinities, which have no JSON form.
pub fn ecmascript(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    // -0 is written "0" (step 2), like +0.
    if x == 0.0 {
        return Some("0".into());
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let (digits, n) = shortest_digits(x.abs());
    let k = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let body = if k <= n && n <= 21 {
        // Integer: the digits, then n - k zeros.
        format!(
            "{digits}{}",
            "0".repeat(usize::try_from(n - k).unwrap_or(0))
        )
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0));
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-n).unwrap_or(0)))
    } else {
        let e = n - 1;
        let exp_sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        format!("{first}{dot}{rest}e{exp_sign}{}", e.unsigned_abs())
    };
    Some(format!("{sign}{body}"))
}

/// CPython's `repr(float)` (`'r'` formatting with `.0` added), which is what
/// `json.dumps` writes for a float: fixed notation while the decimal point
/// sits in `-4 < point <= 16`, otherwise `d.ddde±XX` with at least two
/// exponent digits. `None` for NaN and infinities.
pub fn python_repr(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    // CPython keeps the sign of zero: repr(-0.0) == '-0.0'.
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return Some(format!("{sign}0.0"));
    }
    let (digits, n) = shortest_digits(x.abs());
    let k = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let body = if -4 < n && n <= 16 {
        if n <= 0 {
            format!("0.{}{digits}", "0".repeat(usize::try_from(-n).unwrap_or(0)))
        } else if k <= n {
            format!(
                "{digits}{}.0",
                "0".repeat(usize::try_from(n - k).unwrap_or(0))
            )
        } else {
            let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0));
            format!("{int}.{frac}")
        }
    } else {
        let e = n - 1;
        let exp_sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        format!("{first}{dot}{rest}e{exp_sign}{:02}", e.unsigned_abs())
    };
    Some(format!("{sign}{body}"))
}
