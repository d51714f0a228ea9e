//! Standard base64 with padding (RFC 4648 §4), the form DynamoDB JSON uses
//! for binary attributes. Small enough to own rather than depend on a crate.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Why a string is not valid padded standard base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Base64Error {
    /// The length is not a multiple of four.
    #[error("base64 text has length {len}, which is not a multiple of 4")]
    Length {
        /// The text's length in bytes.
        len: usize,
    },
    /// A byte outside the alphabet, or padding in the wrong place.
    #[error("base64 text has an invalid byte {byte:?} at offset {offset}")]
    InvalidByte {
        /// Where the byte is.
        offset: usize,
        /// The offending byte, as a character.
        byte: char,
    },
}

/// Encodes `bytes` as padded standard base64.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| {
            char::from(
                ALPHABET
                    .get(((n >> shift) & 63) as usize)
                    .copied()
                    .unwrap_or(b'A'),
            )
        };
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

fn value_of(byte: u8) -> Option<u32> {
    let v = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes padded standard base64.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(Base64Error::Length { len: bytes.len() });
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let last_chunk = bytes.len() / 4;
    for (index, chunk) in bytes.chunks_exact(4).enumerate() {
        let is_last = index + 1 == last_chunk;
        let mut n: u32 = 0;
        let mut padding = 0;
        for (i, &byte) in chunk.iter().enumerate() {
            let offset = index * 4 + i;
            let invalid = || Base64Error::InvalidByte {
                offset,
                byte: char::from(byte),
            };
            let v = if byte == b'=' && is_last && i >= 2 {
                padding += 1;
                0
            } else if padding > 0 {
                return Err(invalid());
            } else {
                value_of(byte).ok_or_else(invalid)?
            };
            n = (n << 6) | v;
        }
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend(decoded.iter().take(3 - padding));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(input: &str, expected: Expect) {
        let shown = match decode(input) {
            Ok(bytes) => format!("{bytes:?} -> {}", encode(&bytes)),
            Err(e) => format!("error: {e}"),
        };
        expected.assert_eq(&shown);
    }

    #[test]
    fn decodes_and_encodes() {
        check("", expect!["[] -> "]);
        check("AA==", expect!["[0] -> AA=="]);
        check("AAE=", expect!["[0, 1] -> AAE="]);
        check(
            "dGhpcyB0ZXh0IGlzIGJhc2U2NA==",
            expect![
                "[116, 104, 105, 115, 32, 116, 101, 120, 116, 32, 105, 115, 32, 98, 97, 115, 101, 54, 52] -> dGhpcyB0ZXh0IGlzIGJhc2U2NA=="
            ],
        );
        check("+/+/", expect!["[251, 255, 191] -> +/+/"]);
    }

    #[test]
    fn rejects() {
        check(
            "AAA",
            expect!["error: base64 text has length 3, which is not a multiple of 4"],
        );
        check(
            "A=AA",
            expect!["error: base64 text has an invalid byte '=' at offset 1"],
        );
        check(
            "AA=A",
            expect!["error: base64 text has an invalid byte 'A' at offset 3"],
        );
        check(
            "AA==AAAA",
            expect!["error: base64 text has an invalid byte '=' at offset 2"],
        );
        check(
            "AA-_",
            expect!["error: base64 text has an invalid byte '-' at offset 2"],
        );
    }

    proptest::proptest! {
        #[test]
        fn round_trips(bytes: Vec<u8>) {
            proptest::prop_assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
    }
}
