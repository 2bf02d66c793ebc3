//! Resource quantities compared exactly, as the API server compares a container's request
//! with its limit: `500m` is less than `1`, `1Gi` more than `1G`. The schemas already refuse
//! a string that is no quantity; here one that cannot be read is simply not compared.

use std::cmp::Ordering;

use serde_json::Value;

/// A quantity as `mantissa` × 10^`ten` × 2^`two`, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quantity {
    mantissa: i128,
    ten: i32,
    two: u32,
}

/// More digits than this, or an exponent beyond [`MAX_EXPONENT`], is not compared: no
/// request or limit is written so.
const MAX_DIGITS: usize = 30;
const MAX_EXPONENT: i32 = 64;

fn parse(text: &str) -> Option<Quantity> {
    let (negative, text) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    if digits.len() > MAX_DIGITS {
        return None;
    }
    let mut mantissa: i128 = digits.parse().ok()?;
    if negative {
        mantissa = -mantissa;
    }
    let (ten, two) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        exponent => {
            let exponent = exponent.strip_prefix(['e', 'E'])?;
            let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if unsigned.is_empty()
                || unsigned.len() > 3
                || !unsigned.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let value: i32 = exponent.parse().ok()?;
            if value.abs() > MAX_EXPONENT {
                return None;
            }
            (value, 0)
        }
    };
    Some(Quantity {
        mantissa,
        ten: ten - fraction.len() as i32,
        two,
    })
}

/// The quantity `value` holds, a string or a number.
fn read(value: &Value) -> Option<Quantity> {
    match value {
        Value::String(text) => parse(text),
        Value::Number(number) => parse(&number.to_string()),
        _ => None,
    }
}

/// How the quantities `a` and `b` compare, when both can be read and compared exactly.
pub(super) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    let (a, b) = (read(a)?, read(b)?);
    let ten = a.ten.min(b.ten);
    let scaled = |quantity: Quantity| -> Option<i128> {
        let tens = 10i128.checked_pow(u32::try_from(quantity.ten - ten).ok()?)?;
        let twos = 2i128.checked_pow(quantity.two)?;
        quantity.mantissa.checked_mul(tens)?.checked_mul(twos)
    };
    Some(scaled(a)?.cmp(&scaled(b)?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn quantities_compare_as_the_api_server_compares_them() {
        for (less, more) in [
            ("500m", "1"),
            ("0.5", "501m"),
            ("1G", "1Gi"),
            ("999Mi", "1Gi"),
            ("64Mi", "128Mi"),
            ("1e3", "1001"),
            ("1k", "1Ki"),
            ("-1", "0"),
            ("100n", "1u"),
            ("1.5Gi", "2G"),
        ] {
            assert_eq!(
                compare(&json!(less), &json!(more)),
                Some(Ordering::Less),
                "{less} < {more}"
            );
            assert_eq!(
                compare(&json!(more), &json!(less)),
                Some(Ordering::Greater),
                "{more} > {less}"
            );
        }
        for (a, b) in [
            ("1", "1000m"),
            ("0.1", "100m"),
            ("1Ki", "1024"),
            ("1e3", "1k"),
            ("+2", "2.000"),
        ] {
            assert_eq!(
                compare(&json!(a), &json!(b)),
                Some(Ordering::Equal),
                "{a} = {b}"
            );
        }
        assert_eq!(compare(&json!(2), &json!("1500m")), Some(Ordering::Greater));
        assert_eq!(compare(&json!(0.25), &json!("250m")), Some(Ordering::Equal));
        // What cannot be read, or only with more precision than is kept, is not compared.
        for unreadable in [
            "fifty",
            "64MB",
            "",
            ".",
            "1..2",
            "1e",
            "1e9999",
            "1ee3",
            &"9".repeat(31),
        ] {
            assert_eq!(
                compare(&json!(unreadable), &json!("1")),
                None,
                "{unreadable}"
            );
        }
        assert_eq!(
            compare(&json!("1Ei"), &json!("1e-64")),
            None,
            "too far apart to scale"
        );
    }
}
