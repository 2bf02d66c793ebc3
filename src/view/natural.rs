//! Natural order: `t2` before `t10`, as people count. Names in a fleet are DNS labels that
//! often end in numbers (sites, stores, shards), and byte order scatters them.

use std::cmp::Ordering;

/// Compares runs of digits by value and everything else byte by byte.
pub fn cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (digits_a, rest_a) = split_digits(a);
                let (digits_b, rest_b) = split_digits(b);
                // Leading zeros do not change the value; compare without them, by length first,
                // so that numbers of any size compare without overflowing.
                let (trim_a, trim_b) = (trim_zeros(digits_a), trim_zeros(digits_b));
                let order = trim_a
                    .len()
                    .cmp(&trim_b.len())
                    .then_with(|| trim_a.cmp(trim_b))
                    .then_with(|| digits_a.len().cmp(&digits_b.len()));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (rest_a, rest_b);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

fn split_digits(text: &[u8]) -> (&[u8], &[u8]) {
    let end = text
        .iter()
        .position(|byte| !byte.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|digit| *digit != b'0')
        .unwrap_or(digits.len());
    &digits[start..]
}

/// Sorts `items` by the natural order of their names.
pub fn sort<T>(items: &mut [T], name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| cmp(name(a), name(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value() {
        let mut names = vec!["t10", "t2", "t1", "t100", "t11", "a", "t02", "t", "u1"];
        sort(&mut names, |name| name);
        assert_eq!(
            names,
            ["a", "t", "t1", "t2", "t02", "t10", "t11", "t100", "u1"]
        );
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        let big = format!("t{}", "9".repeat(40));
        assert_eq!(cmp(&big, "t10"), Ordering::Greater);
        assert_eq!(cmp("store-7-eu", "store-7-us"), Ordering::Less);
    }
}
