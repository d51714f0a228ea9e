//! Exact decimal arithmetic for DynamoDB numbers: up to 38 significant
//! digits, exponent from -130 to +125, so `ADD` and `SET a = a + :n` never
//! round and comparisons never go through floating point.

use crate::error::ApiError;
use std::cmp::Ordering;

/// A DynamoDB number: `mantissa × 10^exponent`, mantissa without trailing
/// zeros (zero is mantissa 0, exponent 0, not negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    mantissa: u128,
    exponent: i32,
}

const MAX_DIGITS: u32 = 38;

fn overflow() -> ApiError {
    ApiError::validation(
        "Number overflow. Attempting to store a number with magnitude larger than supported range",
    )
}

fn underflow() -> ApiError {
    ApiError::validation(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range",
    )
}

fn digits(value: u128) -> u32 {
    value.checked_ilog10().map_or(0, |log| log + 1)
}

impl Decimal {
    /// Parses the wire text of a number, or DynamoDB's validation error.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let not_numeric = || {
            ApiError::validation(format!(
                "The parameter cannot be converted to a numeric value: {text}"
            ))
        };
        let negative = text.starts_with('-');
        let body = text.strip_prefix(['-', '+']).unwrap_or(text);
        let (mantissa_text, exponent) = match body.find(['e', 'E']) {
            Some(at) => (
                body.get(..at).unwrap_or(""),
                body.get(at + 1..)
                    .and_then(|e| e.parse::<i32>().ok())
                    .ok_or_else(not_numeric)?,
            ),
            None => (body, 0),
        };
        let (whole, fraction) = mantissa_text.split_once('.').unwrap_or((mantissa_text, ""));
        if (whole.is_empty() && fraction.is_empty())
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(not_numeric());
        }
        let all = format!("{whole}{fraction}");
        let significant = all.trim_start_matches('0');
        let trimmed = significant.trim_end_matches('0');
        if trimmed.is_empty() {
            return Ok(Self::zero());
        }
        if trimmed.len() > MAX_DIGITS as usize {
            return Err(ApiError::validation(
                "Attempting to store more than 38 significant digits in a Number",
            ));
        }
        let mantissa = trimmed.parse::<u128>().map_err(|_| not_numeric())?;
        let dropped = i32::try_from(significant.len() - trimmed.len()).map_err(|_| overflow())?;
        let fraction_len = i32::try_from(fraction.len()).map_err(|_| overflow())?;
        Self::checked(negative, mantissa, exponent - fraction_len + dropped)
    }

    fn zero() -> Self {
        Self {
            negative: false,
            mantissa: 0,
            exponent: 0,
        }
    }

    /// Normalizes and checks DynamoDB's range (1E-130 to 9.99…E+125).
    fn checked(negative: bool, mut mantissa: u128, mut exponent: i32) -> Result<Self, ApiError> {
        if mantissa == 0 {
            return Ok(Self::zero());
        }
        while mantissa.is_multiple_of(10) {
            mantissa /= 10;
            exponent += 1;
        }
        let count = i32::try_from(digits(mantissa)).unwrap_or(i32::MAX);
        if digits(mantissa) > MAX_DIGITS {
            return Err(ApiError::validation(
                "Attempting to store more than 38 significant digits in a Number",
            ));
        }
        // The leading digit's power of ten.
        let magnitude = exponent + count - 1;
        if magnitude > 125 {
            return Err(overflow());
        }
        if magnitude < -130 {
            return Err(underflow());
        }
        Ok(Self {
            negative,
            mantissa,
            exponent,
        })
    }

    /// The sum, exact, or DynamoDB's error when it needs more than 38 digits.
    pub fn checked_add(self, other: Self) -> Result<Self, ApiError> {
        if self.mantissa == 0 {
            return Ok(other);
        }
        if other.mantissa == 0 {
            return Ok(self);
        }
        let exponent = self.exponent.min(other.exponent);
        let scale = |value: Self| -> Result<i128, ApiError> {
            let shift = u32::try_from(value.exponent - exponent).map_err(|_| overflow())?;
            let factor = 10_i128.checked_pow(shift).ok_or_else(precision)?;
            let magnitude = i128::try_from(value.mantissa)
                .ok()
                .and_then(|m| m.checked_mul(factor))
                .ok_or_else(precision)?;
            Ok(if value.negative {
                -magnitude
            } else {
                magnitude
            })
        };
        let sum = scale(self)?
            .checked_add(scale(other)?)
            .ok_or_else(precision)?;
        Self::checked(sum < 0, sum.unsigned_abs(), exponent)
    }

    /// The difference, exact.
    pub fn subtract(self, other: Self) -> Result<Self, ApiError> {
        self.checked_add(other.negated())
    }

    fn negated(self) -> Self {
        Self {
            negative: self.mantissa != 0 && !self.negative,
            ..self
        }
    }

    /// The number as DynamoDB writes it back: plain digits, no exponent.
    pub fn to_text(self) -> String {
        if self.mantissa == 0 {
            return "0".to_owned();
        }
        let sign = if self.negative { "-" } else { "" };
        let digits = self.mantissa.to_string();
        let text = if self.exponent >= 0 {
            let zeros = "0".repeat(usize::try_from(self.exponent).unwrap_or(0));
            format!("{digits}{zeros}")
        } else {
            let point = usize::try_from(-self.exponent).unwrap_or(0);
            if point >= digits.len() {
                format!("0.{}{digits}", "0".repeat(point - digits.len()))
            } else {
                let (whole, fraction) = digits.split_at(digits.len() - point);
                format!("{whole}.{fraction}")
            }
        };
        format!("{sign}{text}")
    }
}

fn precision() -> ApiError {
    ApiError::validation("Attempting to store more than 38 significant digits in a Number")
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            _ => {}
        }
        let magnitude = |d: &Self| {
            if d.mantissa == 0 {
                None
            } else {
                Some(d.exponent + i32::try_from(digits(d.mantissa)).unwrap_or(0))
            }
        };
        let absolute = match (magnitude(self), magnitude(other)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) if a != b => a.cmp(&b),
            (Some(_), Some(_)) => {
                // Same leading power: compare digit strings padded to equal length.
                let (a, b) = (self.mantissa.to_string(), other.mantissa.to_string());
                let width = a.len().max(b.len());
                format!("{a:0<width$}").cmp(&format!("{b:0<width$}"))
            }
        };
        if self.negative {
            absolute.reverse()
        } else {
            absolute
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(left: &str, right: &str, expected: Expect) {
        let outcome = Decimal::parse(left).and_then(|l| {
            let r = Decimal::parse(right)?;
            Ok(format!(
                "sum {} difference {} order {:?}",
                l.checked_add(r)?.to_text(),
                l.subtract(r)?.to_text(),
                l.cmp(&r)
            ))
        });
        let text = match outcome {
            Ok(text) => text,
            Err(error) => error.to_string(),
        };
        expected.assert_eq(&text);
    }

    #[test]
    fn exact_arithmetic_and_order() {
        check("1", "2", expect!["sum 3 difference -1 order Less"]);
        check("0.1", "0.2", expect!["sum 0.3 difference -0.1 order Less"]);
        check("1E2", "100.0", expect!["sum 200 difference 0 order Equal"]);
        check(
            "99999999999999999999999999999999999999",
            "1",
            expect![
                "sum 100000000000000000000000000000000000000 difference 99999999999999999999999999999999999998 order Greater"
            ],
        );
        check(
            "12345678901234567890123456789012345678",
            "-0.5",
            expect![
                "ValidationException: Attempting to store more than 38 significant digits in a Number"
            ],
        );
        check(
            "1234567890123456789012345678901234567",
            "0.1",
            expect![
                "sum 1234567890123456789012345678901234567.1 difference 1234567890123456789012345678901234566.9 order Greater"
            ],
        );
        check("-5", "-12", expect!["sum -17 difference 7 order Greater"]);
        check(
            "0.001",
            "-0",
            expect!["sum 0.001 difference 0.001 order Greater"],
        );
        check(
            "9.9E125",
            "1E125",
            expect![
                "ValidationException: Number overflow. Attempting to store a number with magnitude larger than supported range"
            ],
        );
        check(
            "1e-131",
            "0",
            expect![
                "ValidationException: Number underflow. Attempting to store a number with magnitude smaller than supported range"
            ],
        );
        check(
            "1x",
            "0",
            expect![
                "ValidationException: The parameter cannot be converted to a numeric value: 1x"
            ],
        );
    }
}
