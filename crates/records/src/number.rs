//! DynamoDB numbers, kept as their exact decimal text.
//!
//! DynamoDB sends numbers as strings so that no precision is lost in JSON.
//! [`Number`] keeps that string, validated against DynamoDB's rules (at most
//! 38 significant digits, magnitude between 1E-130 and 9.99…E+125, or zero),
//! and converts to Rust numbers only when nothing is lost: to integers and
//! decimals only when the value is exact, to floats only when the float's
//! shortest decimal text is the same value (see [`Number::to_f64`]).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Why a string is not a DynamoDB number, or why a conversion is not exact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// The text is not a decimal number at all.
    #[error("{text:?} is not a number: {reason}")]
    Syntax {
        /// The offending text.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than 38 significant digits.
    #[error("{text:?} has {digits} significant digits, DynamoDB allows at most 38")]
    TooPrecise {
        /// The offending text.
        text: String,
        /// How many significant digits it has.
        digits: usize,
    },
    /// Outside DynamoDB's magnitude range.
    #[error("{text:?} is out of DynamoDB's range (magnitude 1E-130 to 9.99E+125)")]
    OutOfRange {
        /// The offending text.
        text: String,
    },
    /// The number cannot be converted to the target type without loss:
    /// for an integer or decimal type, the value does not fit exactly; for
    /// `f64` or `f32`, the float's shortest decimal text is not the number's
    /// value (see [`Number::to_f64`]).
    #[error("{text:?} does not fit exactly in {target}")]
    Inexact {
        /// The number's text.
        text: String,
        /// The Rust type asked for, e.g. `i64`.
        target: &'static str,
    },
}

/// The most significant digits DynamoDB keeps.
pub(crate) const MAX_DIGITS: usize = 38;
/// The exponent of the most significant digit of the largest magnitude.
const MAX_LEADING_EXPONENT: i64 = 125;
/// The exponent of the most significant digit of the smallest magnitude.
const MIN_LEADING_EXPONENT: i64 = -130;

/// A DynamoDB number: its exact text, validated.
///
/// Equality (and `Hash`) compares the text, so nothing a producer wrote is
/// lost; [`Number::numeric_eq`] compares values (`1` and `1.0` are equal).
/// The order is by value (`9` < `10`, `-2` < `-1.5`), and numbers of equal
/// value but different text (`1`, `1.0`, `1E0`) are ordered by their text,
/// so that `cmp` gives `Equal` exactly when `==` holds;
/// [`Number::numeric_cmp`] compares values only.
///
/// ```
/// use streamgate_records::Number;
///
/// let n: Number = "12345678901234567890123456789012345678".parse()?;
/// assert!(n.to_i64().is_err()); // never a silent rounding
/// assert_eq!(n.to_i128()?, 12345678901234567890123456789012345678);
/// assert_eq!("0.5".parse::<Number>()?.to_f64()?, 0.5);
/// assert!("0.1000000000000000000001".parse::<Number>()?.to_f64().is_err());
///
/// let (nine, ten): (Number, Number) = ("9".parse()?, "10".parse()?);
/// assert!(nine < ten);
/// let (one, one_point_zero): (Number, Number) = ("1".parse()?, "1.0".parse()?);
/// assert_eq!(one.numeric_cmp(&one_point_zero), std::cmp::Ordering::Equal);
/// assert!(one < one_point_zero && one != one_point_zero); // same value, text decides
/// # Ok::<(), streamgate_records::NumberError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number(String);

impl Ord for Number {
    /// By value, then, for equal values written differently, by text: a
    /// total order that agrees with the textual `==`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.numeric_cmp(other)
            .then_with(|| self.0.as_str().cmp(other.0.as_str()))
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A number's value in normal form: `digits × 10^exponent`, with neither
/// leading nor trailing zeros in `digits` (empty for zero).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Normalized<'a> {
    negative: bool,
    digits: NormalDigits<'a>,
    exponent: i64,
}

/// The significant digits of a number, possibly split around a decimal point.
#[derive(Debug, Clone, Eq)]
struct NormalDigits<'a> {
    head: &'a str,
    tail: &'a str,
}

impl PartialEq for NormalDigits<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.head.len() + self.tail.len() == other.head.len() + other.tail.len()
            && self.chars().eq(other.chars())
    }
}

impl std::hash::Hash for NormalDigits<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for c in self.chars() {
            state.write_u8(c);
        }
    }
}

impl NormalDigits<'_> {
    fn chars(&self) -> impl Iterator<Item = u8> + '_ {
        self.head.bytes().chain(self.tail.bytes())
    }
    fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }
}

impl Normalized<'_> {
    /// Whether the number is zero.
    pub fn is_zero(&self) -> bool {
        self.digits.len() == 0
    }
    /// Whether the number is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative && !self.is_zero()
    }
    /// How many significant digits the number has.
    pub fn significant_digits(&self) -> usize {
        self.digits.len()
    }
    /// The power of ten of the last significant digit.
    pub fn exponent(&self) -> i64 {
        self.exponent
    }
    /// -1, 0 or 1 as the number is below, at or above zero.
    fn sign(&self) -> i8 {
        match (self.is_zero(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }
    /// Compares the values. Digits carry no leading or trailing zeros, so
    /// of two non-zero magnitudes the one whose first digit has the higher
    /// power of ten is larger, and with the same power the digits decide as
    /// text (a longer string that the other starts is larger: its extra
    /// digits end in a non-zero one).
    fn cmp_value(&self, other: &Self) -> Ordering {
        let (sign, other_sign) = (self.sign(), other.sign());
        if sign != other_sign || sign == 0 {
            return sign.cmp(&other_sign);
        }
        let leading = |n: &Self| {
            let digits = i64::try_from(n.digits.len()).unwrap_or(i64::MAX);
            n.exponent.saturating_add(digits)
        };
        let magnitude = leading(self)
            .cmp(&leading(other))
            .then_with(|| self.digits.chars().cmp(other.digits.chars()));
        if sign < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

/// Splits and checks the grammar `[+-]? (D+ (. D*)? | . D+) ([eE] [+-]? D+)?`
/// and returns the value in normal form. The exponent saturates, which only
/// matters for numbers far outside DynamoDB's range, rejected later.
fn normalize(text: &str) -> Result<Normalized<'_>, &'static str> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..).unwrap_or_default()),
        Some(b'+') => (false, text.get(1..).unwrap_or_default()),
        Some(_) => (false, text),
        None => return Err("it is empty"),
    };
    let (mantissa, exponent_text) = match unsigned.find(['e', 'E']) {
        Some(at) => (
            unsigned.get(..at).unwrap_or_default(),
            Some(unsigned.get(at + 1..).unwrap_or_default()),
        ),
        None => (unsigned, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(at) => (
            mantissa.get(..at).unwrap_or_default(),
            mantissa.get(at + 1..).unwrap_or_default(),
        ),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err("it has no digits");
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("it has a character that is not a digit");
    }
    let mut exponent: i64 = 0;
    if let Some(e) = exponent_text {
        let (e_negative, e_digits) = match e.as_bytes().first() {
            Some(b'-') => (true, e.get(1..).unwrap_or_default()),
            Some(b'+') => (false, e.get(1..).unwrap_or_default()),
            _ => (false, e),
        };
        if e_digits.is_empty() || !e_digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("its exponent is not an integer");
        }
        for b in e_digits.bytes() {
            exponent = exponent
                .saturating_mul(10)
                .saturating_add(i64::from(b - b'0'));
        }
        if e_negative {
            exponent = -exponent;
        }
    }
    // Value = int_part frac_part × 10^(exponent - frac_len). Drop leading
    // zeros (which may cross into the fraction) and trailing zeros.
    let frac_len = i64::try_from(frac_part.len()).unwrap_or(i64::MAX);
    let mut head = int_part.trim_start_matches('0');
    let mut tail = frac_part;
    if head.is_empty() {
        tail = tail.trim_start_matches('0');
    }
    let mut last_exponent = exponent.saturating_sub(frac_len);
    let trimmed_tail = tail.trim_end_matches('0');
    if !trimmed_tail.is_empty() || head.is_empty() {
        last_exponent = last_exponent
            .saturating_add(i64::try_from(tail.len() - trimmed_tail.len()).unwrap_or(0));
        tail = trimmed_tail;
    } else {
        // The whole fraction is zeros: trailing zeros come from the head.
        last_exponent = last_exponent.saturating_add(frac_len);
        let trimmed_head = head.trim_end_matches('0');
        last_exponent = last_exponent
            .saturating_add(i64::try_from(head.len() - trimmed_head.len()).unwrap_or(0));
        head = trimmed_head;
        tail = "";
    }
    if head.is_empty() && tail.is_empty() {
        last_exponent = 0;
    }
    Ok(Normalized {
        negative,
        digits: NormalDigits { head, tail },
        exponent: last_exponent,
    })
}

/// Whether `text` is a plain integer of at most 38 digits, the common case:
/// always a valid DynamoDB number (fewer than 39 significant digits, below
/// 1E38), so it needs no normalizing.
fn is_short_integer(text: &str) -> bool {
    plain_digit_count(text).is_some_and(|n| n <= MAX_DIGITS)
}

/// How many digits `text` has if it is a plain decimal, `-?D+(.D+)?`: at
/// most that many significant digits, and a magnitude below 10^digits and
/// (if not zero) at least 10^-digits.
fn plain_digit_count(text: &str) -> Option<usize> {
    // One pass over the bytes: this runs for every number decoded.
    let bytes = text.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    let int_start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let int_digits = i - int_start;
    if int_digits == 0 {
        return None;
    }
    match bytes.get(i) {
        None => Some(int_digits),
        Some(b'.') => {
            let frac_start = i + 1;
            i = frac_start;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let frac_digits = i - frac_start;
            (frac_digits > 0 && i == bytes.len()).then_some(int_digits + frac_digits)
        }
        Some(_) => None,
    }
}

/// Checks `text` against DynamoDB's number rules.
pub(crate) fn validate(text: &str) -> Result<(), NumberError> {
    if is_short_integer(text) {
        return Ok(());
    }
    let n = normalize(text).map_err(|reason| NumberError::Syntax {
        text: text.to_owned(),
        reason,
    })?;
    let digits = n.significant_digits();
    if digits > MAX_DIGITS {
        return Err(NumberError::TooPrecise {
            text: text.to_owned(),
            digits,
        });
    }
    if !n.is_zero() {
        let leading = n
            .exponent
            .saturating_add(i64::try_from(digits).unwrap_or(0) - 1);
        if !(MIN_LEADING_EXPONENT..=MAX_LEADING_EXPONENT).contains(&leading) {
            return Err(NumberError::OutOfRange {
                text: text.to_owned(),
            });
        }
    }
    Ok(())
}

fn is_canonical_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    match digits.as_bytes() {
        [b'0'] => digits.len() == text.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// Whether two valid number texts have the same value (`1` and `1.0` do).
pub(crate) fn same_value(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // Two integers written the canonical way (no sign but `-`, no leading
    // zero, no `-0`) differ in value exactly when they differ in text.
    if is_canonical_integer(a) && is_canonical_integer(b) {
        return false;
    }
    match (normalize(a), normalize(b)) {
        (Ok(x), Ok(y)) => {
            x.digits == y.digits
                && (x.is_zero() || (x.exponent == y.exponent && x.negative == y.negative))
        }
        _ => false,
    }
}

/// Exact conversions shared by [`Number`] and the deserializers, which work
/// on borrowed text that was validated already.
pub(crate) mod convert {
    use super::{NumberError, normalize, plain_digit_count};

    fn inexact(text: &str, target: &'static str) -> NumberError {
        NumberError::Inexact {
            text: text.to_owned(),
            target,
        }
    }

    /// The exact value as an `i128`.
    pub(crate) fn to_i128(text: &str) -> Result<i128, NumberError> {
        let n = normalize(text).map_err(|_| inexact(text, "i128"))?;
        if n.exponent < 0 {
            return Err(inexact(text, "i128"));
        }
        let mut value: i128 = 0;
        for d in n.digits.chars() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(d - b'0')))
                .ok_or_else(|| inexact(text, "i128"))?;
        }
        for _ in 0..n.exponent {
            value = value.checked_mul(10).ok_or_else(|| inexact(text, "i128"))?;
        }
        Ok(if n.negative { -value } else { value })
    }

    /// The exact value as an `i64`.
    pub(crate) fn to_i64(text: &str) -> Result<i64, NumberError> {
        // Fast path: plain integer text, the common case.
        if let Ok(v) = text.parse::<i64>() {
            return Ok(v);
        }
        let wide = to_i128(text).map_err(|_| inexact(text, "i64"))?;
        i64::try_from(wide).map_err(|_| inexact(text, "i64"))
    }

    /// The exact value as a `u64`.
    pub(crate) fn to_u64(text: &str) -> Result<u64, NumberError> {
        if let Ok(v) = text.parse::<u64>() {
            return Ok(v);
        }
        let wide = to_i128(text).map_err(|_| inexact(text, "u64"))?;
        u64::try_from(wide).map_err(|_| inexact(text, "u64"))
    }

    /// Whether `shortest` (the shortest decimal form of a float) has the
    /// same value as `text`.
    fn same_value(text: &str, shortest: &str) -> bool {
        match (normalize(text), normalize(shortest)) {
            (Ok(wanted), Ok(got)) => {
                wanted.digits == got.digits
                    && (wanted.is_zero()
                        || (wanted.exponent == got.exponent && wanted.negative == got.negative))
            }
            _ => false,
        }
    }

    /// The nearest `f64`, when the shortest decimal text that reads back as
    /// that `f64` has the same value as `text`; an error otherwise (see
    /// [`Number::to_f64`]).
    pub(crate) fn to_f64(text: &str) -> Result<f64, NumberError> {
        let value: f64 = text.parse().map_err(|_| inexact(text, "f64"))?;
        // A decimal of at most 15 significant digits inside the normal
        // range of f64 (all of DynamoDB's range is) is the shortest form of
        // its nearest f64, so it round-trips without checking.
        let significant = match plain_digit_count(text) {
            Some(digits) => Some(digits),
            None => normalize(text).ok().map(|n| n.significant_digits()),
        };
        if significant.is_some_and(|digits| digits <= 15) && value.is_finite() {
            return Ok(value);
        }
        if value.is_finite() && same_value(text, &format!("{value:e}")) {
            Ok(value)
        } else {
            Err(inexact(text, "f64"))
        }
    }

    /// The value as an `f32`, under the same rule as [`to_f64`].
    pub(crate) fn to_f32(text: &str) -> Result<f32, NumberError> {
        let value: f32 = text.parse().map_err(|_| inexact(text, "f32"))?;
        if value.is_finite() && same_value(text, &format!("{value:e}")) {
            Ok(value)
        } else {
            Err(inexact(text, "f32"))
        }
    }
}

impl Number {
    /// Parses and validates `text` as a DynamoDB number, keeping it as is.
    pub fn new(text: impl Into<String>) -> Result<Self, NumberError> {
        let text = text.into();
        validate(&text)?;
        Ok(Self(text))
    }
    /// The exact text, as DynamoDB sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The value in normal form, for comparing values rather than texts.
    pub fn normalized(&self) -> Normalized<'_> {
        // Validated at construction, so normalizing cannot fail; a zero is
        // the harmless answer should that ever change.
        normalize(&self.0).unwrap_or(Normalized {
            negative: false,
            digits: NormalDigits { head: "", tail: "" },
            exponent: 0,
        })
    }
    /// Compares the values, ignoring how they are written: `9` is less
    /// than `10`, and `1`, `1.0` and `1E0` are `Equal`. (`Ord` breaks such
    /// ties by text.)
    pub fn numeric_cmp(&self, other: &Self) -> Ordering {
        // Plain integers that fit an i64, the common case, compare as such.
        if let (Ok(a), Ok(b)) = (self.0.parse::<i64>(), other.0.parse::<i64>()) {
            return a.cmp(&b);
        }
        self.normalized().cmp_value(&other.normalized())
    }
    /// Whether two numbers have the same value (`1` and `1.0e0` do).
    pub fn numeric_eq(&self, other: &Self) -> bool {
        let (a, b) = (self.normalized(), other.normalized());
        a.digits == b.digits
            && (a.is_zero() || (a.exponent == b.exponent && a.negative == b.negative))
    }
    /// The exact value as an `i64`, or an error if it has a fraction or does
    /// not fit.
    pub fn to_i64(&self) -> Result<i64, NumberError> {
        convert::to_i64(&self.0)
    }
    /// The exact value as a `u64`.
    pub fn to_u64(&self) -> Result<u64, NumberError> {
        convert::to_u64(&self.0)
    }
    /// The exact value as an `i128` (every 38-digit integer fits).
    pub fn to_i128(&self) -> Result<i128, NumberError> {
        convert::to_i128(&self.0)
    }
    /// The nearest `f64`, when that `f64`'s shortest round-trip decimal
    /// text (what `{}` or `{:e}` prints for it) has the same value as this
    /// number; otherwise [`NumberError::Inexact`].
    ///
    /// The `f64` is not in general the same value in binary: `0.1` gives
    /// the `f64` nearest to 0.1, which prints as `0.1` but is
    /// 0.1000000000000000055511151231257827…. What the rule guarantees is
    /// that no decimal digit is lost: the number converts back
    /// (`Number::try_from(f64)`) to the same value. Every number of at most
    /// 15 significant digits converts; one with more converts only if it
    /// is the shortest text of its `f64` (`0.30000000000000004` does,
    /// `0.1000000000000000000001` does not).
    ///
    /// ```
    /// use streamgate_records::Number;
    /// assert_eq!("0.1".parse::<Number>()?.to_f64()?, 0.1);
    /// assert_eq!("0.30000000000000004".parse::<Number>()?.to_f64()?, 0.1 + 0.2);
    /// assert!("0.1000000000000000000001".parse::<Number>()?.to_f64().is_err());
    /// assert!("9007199254740993".parse::<Number>()?.to_f64().is_err()); // 2^53 + 1
    /// # Ok::<(), streamgate_records::NumberError>(())
    /// ```
    pub fn to_f64(&self) -> Result<f64, NumberError> {
        convert::to_f64(&self.0)
    }
    /// The exact value as a decimal: an integer mantissa and a power of ten.
    /// Every DynamoDB number converts (38 digits fit in an `i128`).
    pub fn to_decimal(&self) -> Decimal {
        let n = self.normalized();
        let mut mantissa: i128 = 0;
        for d in n.digits.chars() {
            // At most 38 digits were validated, which an i128 holds.
            mantissa = mantissa
                .saturating_mul(10)
                .saturating_add(i128::from(d - b'0'));
        }
        Decimal {
            mantissa: if n.negative { -mantissa } else { mantissa },
            exponent: i32::try_from(n.exponent).unwrap_or(0),
        }
    }
}

/// An exact decimal value: `mantissa × 10^exponent`, normalized (no
/// trailing zeros in the mantissa; zero has exponent 0).
///
/// ```
/// use streamgate_records::{Decimal, Number};
/// let d = "-12.50".parse::<Number>()?.to_decimal();
/// assert_eq!(d, Decimal { mantissa: -125, exponent: -1 });
/// assert_eq!(d.to_string(), "-12.5");
/// # Ok::<(), streamgate_records::NumberError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// The significant digits, signed.
    pub mantissa: i128,
    /// The power of ten the mantissa is multiplied by.
    pub exponent: i32,
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        // Far outside DynamoDB's range (only a hand-built value gets here),
        // exponent notation keeps the text short.
        if !(-200..=200).contains(&self.exponent) {
            return write!(f, "{sign}{digits}E{}", self.exponent);
        }
        if self.exponent >= 0 {
            let zeros = usize::try_from(self.exponent).unwrap_or(0);
            return write!(f, "{sign}{digits}{}", "0".repeat(zeros));
        }
        let point = usize::try_from(self.exponent.unsigned_abs()).unwrap_or(0);
        if point >= digits.len() {
            write!(f, "{sign}0.{}{digits}", "0".repeat(point - digits.len()))
        } else {
            let (int, frac) = digits.split_at(digits.len() - point);
            write!(f, "{sign}{int}.{frac}")
        }
    }
}

impl FromStr for Number {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for Number {
    type Error = NumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({})", self.0)
    }
}

macro_rules! from_integer {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Number {
            fn from(v: $ty) -> Self {
                // Every integer of 64 bits or fewer is a valid DynamoDB number.
                Self(v.to_string())
            }
        }
    )*};
}
from_integer!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

impl TryFrom<i128> for Number {
    type Error = NumberError;
    fn try_from(v: i128) -> Result<Self, Self::Error> {
        Self::new(v.to_string())
    }
}

impl TryFrom<u128> for Number {
    type Error = NumberError;
    fn try_from(v: u128) -> Result<Self, Self::Error> {
        Self::new(v.to_string())
    }
}

impl TryFrom<f64> for Number {
    type Error = NumberError;
    /// The shortest decimal that denotes `v`; NaN and infinities are errors.
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        if !v.is_finite() {
            return Err(NumberError::Syntax {
                text: v.to_string(),
                reason: "it is not finite",
            });
        }
        Self::new(shortest_f64(v))
    }
}

/// The shortest text that parses back to `v`, in plain notation where that is
/// short and in exponent notation otherwise.
pub(crate) fn shortest_f64(v: f64) -> String {
    let plain = v.to_string();
    let exp = format!("{v:e}");
    if plain.len() <= exp.len() { plain } else { exp }
}

impl TryFrom<Decimal> for Number {
    type Error = NumberError;
    fn try_from(d: Decimal) -> Result<Self, Self::Error> {
        let text = if d.exponent == 0 {
            d.mantissa.to_string()
        } else {
            format!("{}E{}", d.mantissa, d.exponent)
        };
        Self::new(text)
    }
}

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(crate::de::NUMBER_TOKEN, self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl<'de> serde::de::Visitor<'de> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a DynamoDB number as a string")
            }
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Number, D::Error> {
                d.deserialize_str(self)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Number, E> {
                Number::new(v).map_err(E::custom)
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Number, E> {
                Number::new(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number::from(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number::from(v))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
                Number::try_from(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_newtype_struct(crate::de::NUMBER_TOKEN, NumberVisitor)
    }
}

/// Exact conversions to and from [`rust_decimal::Decimal`] (feature
/// `rust_decimal`).
///
/// A `rust_decimal::Decimal` holds a 96-bit mantissa (28 to 29 significant
/// digits) and at most 28 digits after the point; a DynamoDB number may have
/// 38 digits and exponents from -130 to 125. A number that does not fit is an
/// error, never a rounding. The other way always succeeds: every
/// `rust_decimal::Decimal` is a valid DynamoDB number.
#[cfg(feature = "rust_decimal")]
mod rust_decimal_conversions {
    use super::{Decimal, Number, NumberError};

    impl Number {
        /// The exact value as a [`rust_decimal::Decimal`], or
        /// [`NumberError::Inexact`] when it has more significant digits than
        /// 96 bits hold or more than 28 digits after the point.
        ///
        /// ```
        /// use streamgate_records::Number;
        /// let price: Number = "-12.50".parse()?;
        /// assert_eq!(price.to_rust_decimal()?.to_string(), "-12.5");
        /// let tiny: Number = "1E-29".parse()?;
        /// assert!(tiny.to_rust_decimal().is_err()); // 29 digits after the point
        /// # Ok::<(), streamgate_records::NumberError>(())
        /// ```
        pub fn to_rust_decimal(&self) -> Result<rust_decimal::Decimal, NumberError> {
            let inexact = || NumberError::Inexact {
                text: self.as_str().to_owned(),
                target: "rust_decimal::Decimal",
            };
            // Normalized, so the scale cannot shrink by dropping zeros.
            let Decimal { mantissa, exponent } = self.to_decimal();
            let (mantissa, scale) = if exponent >= 0 {
                let factor = u32::try_from(exponent)
                    .ok()
                    .and_then(|e| 10i128.checked_pow(e))
                    .ok_or_else(inexact)?;
                (mantissa.checked_mul(factor).ok_or_else(inexact)?, 0)
            } else {
                (mantissa, exponent.unsigned_abs())
            };
            rust_decimal::Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|_| inexact())
        }
    }

    impl TryFrom<&Number> for rust_decimal::Decimal {
        type Error = NumberError;
        fn try_from(n: &Number) -> Result<Self, Self::Error> {
            n.to_rust_decimal()
        }
    }

    impl From<rust_decimal::Decimal> for Number {
        /// The decimal's plain text (`-12.50` stays `-12.50`). It is always a
        /// valid DynamoDB number: at most 29 significant digits, magnitude
        /// between 1E-28 and 7.93E+28 or zero.
        fn from(d: rust_decimal::Decimal) -> Self {
            let scale = i32::try_from(d.scale()).unwrap_or(0);
            Self(
                Decimal {
                    mantissa: d.mantissa(),
                    exponent: -scale,
                }
                .to_string(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    /// Parses `input` and shows what each conversion gives.
    fn check(input: &str, expected: Expect) {
        let shown = match input.parse::<Number>() {
            Err(e) => format!("error: {e}"),
            Ok(n) => {
                let show = |r: Result<String, NumberError>| match r {
                    Ok(v) => v,
                    Err(_) => "-".to_owned(),
                };
                format!(
                    "i64 {} | u64 {} | i128 {} | f64 {} | decimal {}",
                    show(n.to_i64().map(|v| v.to_string())),
                    show(n.to_u64().map(|v| v.to_string())),
                    show(n.to_i128().map(|v| v.to_string())),
                    show(n.to_f64().map(|v| v.to_string())),
                    n.to_decimal()
                )
            }
        };
        expected.assert_eq(&shown);
    }

    #[test]
    fn integers() {
        check(
            "42",
            expect!["i64 42 | u64 42 | i128 42 | f64 42 | decimal 42"],
        );
        check(
            "-7",
            expect!["i64 -7 | u64 - | i128 -7 | f64 -7 | decimal -7"],
        );
        check("0", expect!["i64 0 | u64 0 | i128 0 | f64 0 | decimal 0"]);
        check(
            "-0.000",
            expect!["i64 0 | u64 0 | i128 0 | f64 -0 | decimal 0"],
        );
        check(
            "1e3",
            expect!["i64 1000 | u64 1000 | i128 1000 | f64 1000 | decimal 1000"],
        );
        check(
            "1200E-2",
            expect!["i64 12 | u64 12 | i128 12 | f64 12 | decimal 12"],
        );
        check(
            "18446744073709551615",
            expect![
                "i64 - | u64 18446744073709551615 | i128 18446744073709551615 | f64 - | decimal 18446744073709551615"
            ],
        );
        check(
            "99999999999999999999999999999999999999",
            expect![
                "i64 - | u64 - | i128 99999999999999999999999999999999999999 | f64 - | decimal 99999999999999999999999999999999999999"
            ],
        );
    }

    #[test]
    fn fractions() {
        check(
            "0.5",
            expect!["i64 - | u64 - | i128 - | f64 0.5 | decimal 0.5"],
        );
        check(
            "0.1",
            expect!["i64 - | u64 - | i128 - | f64 0.1 | decimal 0.1"],
        );
        check(
            "-12.50",
            expect!["i64 - | u64 - | i128 - | f64 -12.5 | decimal -12.5"],
        );
        check(
            "0.12345678901234567890123",
            expect!["i64 - | u64 - | i128 - | f64 - | decimal 0.12345678901234567890123"],
        );
        check(
            ".5",
            expect!["i64 - | u64 - | i128 - | f64 0.5 | decimal 0.5"],
        );
        check(
            "1E-130",
            expect![
                "i64 - | u64 - | i128 - | f64 0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001 | decimal 0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001"
            ],
        );
    }

    #[test]
    fn rejected() {
        check("", expect![[r#"error: "" is not a number: it is empty"#]]);
        check(
            "abc",
            expect![[r#"error: "abc" is not a number: it has a character that is not a digit"#]],
        );
        check(
            "1e",
            expect![[r#"error: "1e" is not a number: its exponent is not an integer"#]],
        );
        check(
            ".",
            expect![[r#"error: "." is not a number: it has no digits"#]],
        );
        check(
            "NaN",
            expect![[r#"error: "NaN" is not a number: it has a character that is not a digit"#]],
        );
        check(
            "123456789012345678901234567890123456789",
            expect![[
                r#"error: "123456789012345678901234567890123456789" has 39 significant digits, DynamoDB allows at most 38"#
            ]],
        );
        check(
            "1E126",
            expect![[
                r#"error: "1E126" is out of DynamoDB's range (magnitude 1E-130 to 9.99E+125)"#
            ]],
        );
        check(
            "1E-131",
            expect![[
                r#"error: "1E-131" is out of DynamoDB's range (magnitude 1E-130 to 9.99E+125)"#
            ]],
        );
        check(
            "1e99999999999999999999999",
            expect![[
                r#"error: "1e99999999999999999999999" is out of DynamoDB's range (magnitude 1E-130 to 9.99E+125)"#
            ]],
        );
    }

    #[test]
    fn trailing_zeros_do_not_count_as_digits() {
        let n: Number = "1000000000000000000000000000000000000000000"
            .parse()
            .unwrap();
        assert_eq!(n.normalized().significant_digits(), 1);
        assert!(
            "9.9999999999999999999999999999999999999E+125"
                .parse::<Number>()
                .is_ok()
        );
        assert!(
            Number::new("1.0")
                .unwrap()
                .numeric_eq(&Number::new("1").unwrap())
        );
        assert!(
            !Number::new("1.01")
                .unwrap()
                .numeric_eq(&Number::new("1").unwrap())
        );
        assert!(
            Number::new("0")
                .unwrap()
                .numeric_eq(&Number::new("-0.0e7").unwrap())
        );
        assert!(same_value("0", "-0"));
        assert!(same_value("7", "007"));
        assert!(!same_value("10", "1"));
        assert!(!same_value("-5", "5"));
        assert!(same_value("100", "1E2"));
    }

    /// Converts `input` to a `rust_decimal::Decimal` and back.
    #[cfg(feature = "rust_decimal")]
    fn check_rust_decimal(input: &str, expected: Expect) {
        let shown = match input.parse::<Number>() {
            Err(e) => format!("error: {e}"),
            Ok(n) => match n.to_rust_decimal() {
                Ok(d) => format!("{d} (scale {}) -> {}", d.scale(), Number::from(d)),
                Err(e) => format!("error: {e}"),
            },
        };
        expected.assert_eq(&shown);
    }

    #[cfg(feature = "rust_decimal")]
    #[test]
    fn rust_decimal_conversions_are_exact_or_errors() {
        check_rust_decimal("-12.50", expect!["-12.5 (scale 1) -> -12.5"]);
        check_rust_decimal("0", expect!["0 (scale 0) -> 0"]);
        check_rust_decimal("-0.000", expect!["0 (scale 0) -> 0"]);
        check_rust_decimal("1E3", expect!["1000 (scale 0) -> 1000"]);
        check_rust_decimal(
            "79228162514264337593543950335",
            expect!["79228162514264337593543950335 (scale 0) -> 79228162514264337593543950335"],
        );
        check_rust_decimal(
            "79228162514264337593543950336",
            expect![[
                r#"error: "79228162514264337593543950336" does not fit exactly in rust_decimal::Decimal"#
            ]],
        );
        check_rust_decimal(
            "1E28",
            expect!["10000000000000000000000000000 (scale 0) -> 10000000000000000000000000000"],
        );
        check_rust_decimal(
            "1E29",
            expect![[r#"error: "1E29" does not fit exactly in rust_decimal::Decimal"#]],
        );
        check_rust_decimal(
            "1E-28",
            expect!["0.0000000000000000000000000001 (scale 28) -> 0.0000000000000000000000000001"],
        );
        check_rust_decimal(
            "1E-29",
            expect![[r#"error: "1E-29" does not fit exactly in rust_decimal::Decimal"#]],
        );
        check_rust_decimal(
            "12345678901234567890123456789012345678",
            expect![[
                r#"error: "12345678901234567890123456789012345678" does not fit exactly in rust_decimal::Decimal"#
            ]],
        );
        check_rust_decimal(
            "9.99E125",
            expect![[r#"error: "9.99E125" does not fit exactly in rust_decimal::Decimal"#]],
        );
    }

    #[cfg(feature = "rust_decimal")]
    proptest::proptest! {
        #[test]
        fn every_rust_decimal_is_a_number_and_comes_back(
            lo: u32, mid: u32, hi: u32, negative: bool, scale in 0u32..=28,
        ) {
            let d = rust_decimal::Decimal::from_parts(lo, mid, hi, negative, scale);
            let n = Number::from(d);
            // Built without validation: it must be valid all the same.
            proptest::prop_assert_eq!(Number::new(n.as_str()).unwrap(), n.clone());
            proptest::prop_assert_eq!(n.to_rust_decimal().unwrap(), d);
        }

        #[test]
        fn rust_decimal_agrees_with_the_exact_decimal(
            m in -10i128.pow(30)..10i128.pow(30), e in -40i32..40,
        ) {
            let Ok(n) = Number::try_from(Decimal { mantissa: m, exponent: e }) else {
                return Ok(());
            };
            match n.to_rust_decimal() {
                // Converted: the same value, digit for digit.
                Ok(d) => proptest::prop_assert!(Number::from(d).numeric_eq(&n), "{d} vs {n}"),
                // Refused: it really does not fit.
                Err(_) => {
                    let exact = n.to_decimal();
                    let digits = exact.mantissa.unsigned_abs().to_string().len();
                    let fits = if exact.exponent < 0 {
                        exact.exponent >= -28 && exact.mantissa.unsigned_abs() < 1u128 << 96
                    } else {
                        i64::try_from(digits).unwrap() + i64::from(exact.exponent) <= 29
                            && (exact.mantissa.unsigned_abs()
                                * 10u128.pow(exact.exponent.unsigned_abs()))
                                < 1u128 << 96
                    };
                    proptest::prop_assert!(!fits, "{n} fits but was refused");
                }
            }
        }
    }

    #[test]
    fn order_is_by_value_then_by_text() {
        let texts = [
            "10",
            "9",
            "-1",
            "1.0",
            "1",
            "1E0",
            "0",
            "-0",
            "0.0",
            "-10",
            "9.99E125",
            "1E-130",
            "-1E-130",
            ".5",
            "0.50",
            "-1.5",
            "-2",
            "100",
            "99.999",
            "-9.99E125",
            "5E-1",
        ];
        let mut numbers: Vec<Number> = texts.iter().map(|t| t.parse().unwrap()).collect();
        numbers.sort();
        let shown = numbers.iter().map(Number::as_str).collect::<Vec<_>>();
        expect![[r#"
            -9.99E125 -10 -2 -1.5 -1 -1E-130 -0 0 0.0 1E-130 .5 0.50 5E-1 1 1.0 1E0 9 10 99.999 100 9.99E125"#]]
        .assert_eq(&shown.join(" "));
    }

    /// A number's text in one of several spellings of `mantissa ×
    /// 10^exponent`: plain, exponent notation, or padded with zeros that do
    /// not change the value.
    fn spelled(mantissa: i64, exponent: i32, style: u8) -> String {
        let plain = Decimal {
            mantissa: i128::from(mantissa),
            exponent,
        }
        .to_string();
        match style {
            0 => plain,
            1 => format!("{mantissa}E{exponent}"),
            2 if plain.contains('.') => format!("{plain}00"),
            2 => format!("{plain}.0"),
            _ => match plain.strip_prefix('-') {
                Some(unsigned) => format!("-00{unsigned}"),
                None => format!("+0{plain}"),
            },
        }
    }

    /// The exact order of `a × 10^ea` and `b × 10^eb` (small enough here
    /// for the common exponent to fit an i128).
    fn reference_cmp((a, ea): (i64, i32), (b, eb): (i64, i32)) -> std::cmp::Ordering {
        let low = ea.min(eb);
        let scaled = |m: i64, e: i32| i128::from(m) * 10i128.pow((e - low).unsigned_abs());
        scaled(a, ea).cmp(&scaled(b, eb))
    }

    fn number_parts() -> impl proptest::strategy::Strategy<Value = (i64, i32, u8)> {
        use proptest::prelude::*;
        prop_oneof![
            (-1_000_000_000i64..1_000_000_000, -12i32..12, 0u8..4),
            // Few digits and exponents, so that equal values come often.
            (-20i64..20, -2i32..2, 0u8..4),
        ]
    }

    proptest::proptest! {
        #[test]
        fn order_is_the_exact_value_order_then_text(
            (a, ea, sa) in number_parts(),
            (b, eb, sb) in number_parts(),
        ) {
            let x: Number = spelled(a, ea, sa).parse().unwrap();
            let y: Number = spelled(b, eb, sb).parse().unwrap();
            let exact = reference_cmp((a, ea), (b, eb));
            proptest::prop_assert_eq!(x.numeric_cmp(&y), exact, "{} vs {}", x, y);
            proptest::prop_assert_eq!(x.numeric_eq(&y), exact.is_eq(), "{} vs {}", x, y);
            let order = exact.then_with(|| x.as_str().cmp(y.as_str()));
            proptest::prop_assert_eq!(x.cmp(&y), order, "{} vs {}", x, y);
            // Consistent with the textual `==`, and antisymmetric.
            proptest::prop_assert_eq!(x.cmp(&y).is_eq(), x == y);
            proptest::prop_assert_eq!(y.cmp(&x), x.cmp(&y).reverse());
            proptest::prop_assert_eq!(x.partial_cmp(&y), Some(x.cmp(&y)));
            // Where both convert to f64, a strict f64 order is the same order
            // (rounding to the nearest f64 never reverses one).
            if let (Ok(fx), Ok(fy)) = (x.to_f64(), y.to_f64()) {
                if fx < fy {
                    proptest::prop_assert!(x < y, "{} vs {}", x, y);
                }
                if fx > fy {
                    proptest::prop_assert!(x > y, "{} vs {}", x, y);
                }
            }
        }

        #[test]
        fn order_is_transitive(
            parts in proptest::collection::vec(number_parts(), 3),
        ) {
            let n: Vec<Number> = parts
                .iter()
                .map(|&(m, e, s)| spelled(m, e, s).parse().unwrap())
                .collect();
            for (a, b, c) in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)] {
                if n[a] <= n[b] && n[b] <= n[c] {
                    proptest::prop_assert!(n[a] <= n[c], "{} {} {}", n[a], n[b], n[c]);
                }
            }
        }

        #[test]
        fn order_spans_dynamodb_range(
            (a, ea) in (-99_999i64..99_999, -130i32..120),
            (b, eb) in (-99_999i64..99_999, -130i32..120),
        ) {
            // Exponents too far apart for the i128 reference: compare the
            // values as exact decimals with rust's own integer order on the
            // digits after aligning the leading powers.
            let x = Number::try_from(Decimal { mantissa: a.into(), exponent: ea });
            let y = Number::try_from(Decimal { mantissa: b.into(), exponent: eb });
            let (Ok(x), Ok(y)) = (x, y) else { return Ok(()) };
            let exact = if (ea - eb).abs() < 30 {
                reference_cmp((a, ea), (b, eb))
            } else {
                // Far apart: any non-zero value of the higher exponent is
                // larger in magnitude than any of the lower one (mantissas
                // have at most 5 digits).
                let sign = |m: i64| m.signum();
                match (sign(a), sign(b)) {
                    (sa, sb) if sa != sb || sa == 0 => sa.cmp(&sb),
                    (sa, _) => {
                        let magnitude = ea.cmp(&eb);
                        if sa < 0 { magnitude.reverse() } else { magnitude }
                    }
                }
            };
            proptest::prop_assert_eq!(x.numeric_cmp(&y), exact, "{} vs {}", x, y);
        }
    }

    #[cfg(feature = "rust_decimal")]
    proptest::proptest! {
        #[test]
        fn order_agrees_with_rust_decimal(
            (a, ea, sa) in number_parts(),
            (b, eb, sb) in number_parts(),
        ) {
            let x: Number = spelled(a, ea, sa).parse().unwrap();
            let y: Number = spelled(b, eb, sb).parse().unwrap();
            if let (Ok(dx), Ok(dy)) = (x.to_rust_decimal(), y.to_rust_decimal()) {
                proptest::prop_assert_eq!(x.numeric_cmp(&y), dx.cmp(&dy), "{} vs {}", x, y);
            }
        }
    }

    /// The specification of `plain_digit_count`, written for clarity.
    fn plain_digit_count_reference(text: &str) -> Option<usize> {
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "1"));
        let plain = !int.is_empty()
            && !frac.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit());
        plain.then(|| unsigned.len() - usize::from(unsigned.len() > int.len()))
    }

    proptest::proptest! {
        #[test]
        fn plain_digit_count_agrees_with_its_reference(text in "[-+0-9.eE]{0,8}|\\PC{0,6}") {
            proptest::prop_assert_eq!(
                plain_digit_count(&text),
                plain_digit_count_reference(&text),
                "{:?}", text
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn every_i64_round_trips(v: i64) {
            proptest::prop_assert_eq!(Number::from(v).to_i64().unwrap(), v);
            proptest::prop_assert_eq!(Number::from(v).to_i128().unwrap(), i128::from(v));
        }

        #[test]
        fn every_normal_f64_round_trips(v in proptest::num::f64::NORMAL) {
            if let Ok(n) = Number::try_from(v) {
                proptest::prop_assert_eq!(n.to_f64().unwrap(), v);
            }
        }

        #[test]
        fn decimal_form_is_the_same_value(m in -10i128.pow(20)..10i128.pow(20), e in -60i32..60) {
            let n = Number::try_from(Decimal { mantissa: m, exponent: e }).unwrap();
            let back = Number::new(n.to_decimal().to_string()).unwrap();
            proptest::prop_assert!(n.numeric_eq(&back), "{n} vs {back}");
        }

        #[test]
        fn any_decimal_displays_as_its_value(mantissa: i128, exponent: i32) {
            let shown = Decimal { mantissa, exponent }.to_string();
            proptest::prop_assert!(shown.len() < 300, "{shown}");
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
            if let Ok(n) = s.parse::<Number>() {
                let _ = (n.to_i64(), n.to_u64(), n.to_i128(), n.to_f64(), n.to_decimal());
            }
        }
    }
}
