//! Standard base64 with padding (RFC 4648 §4), the form DynamoDB JSON uses
//! for binary attributes: the `base64` crate's engine, behind this crate's
//! own error type so that a bad value is reported with its offset.

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Padding written and required; trailing bits of the last symbol are not
/// checked, as the earlier hand-written decoder did not check them either.
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// Why a string is not valid padded standard base64. Internal: a bad `B`
/// or `BS` value reaches users as an [`ImageError`](crate::ImageError) (or
/// a [`RecordError`](crate::RecordError)) whose message is this error's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Base64Error {
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
    /// Padding missing or of the wrong length.
    #[error("base64 text has invalid padding")]
    Padding,
}

/// Encodes `bytes` as padded standard base64.
pub(crate) fn encode(bytes: &[u8]) -> String {
    ENGINE.encode(bytes)
}

/// Decodes padded standard base64.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    if !text.len().is_multiple_of(4) {
        return Err(Base64Error::Length { len: text.len() });
    }
    ENGINE.decode(text).map_err(|error| match error {
        base64::DecodeError::InvalidByte(offset, byte)
        | base64::DecodeError::InvalidLastSymbol(offset, byte) => Base64Error::InvalidByte {
            offset,
            byte: char::from(byte),
        },
        base64::DecodeError::InvalidLength(len) => Base64Error::Length { len },
        base64::DecodeError::InvalidPadding => Base64Error::Padding,
    })
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
            expect!["error: base64 text has an invalid byte '=' at offset 2"],
        );
        check(
            "AA==AAAA",
            expect!["error: base64 text has an invalid byte '=' at offset 2"],
        );
        check(
            "A===",
            expect!["error: base64 text has an invalid byte '=' at offset 1"],
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
