//! Standard base64 (RFC 4648, with padding), as restJson1 carries blobs such
//! as a function's `ZipFile` and as Lambda prints `CodeSha256`. A dozen
//! lines here spare the crate a dependency.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `bytes` with padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0);
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let group = u32::from(b0) << 16 | u32::from(b1) << 8 | u32::from(b2);
        for (index, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if index <= chunk.len() {
                let sextet = usize::try_from((group >> shift) & 63).unwrap_or(0);
                out.push(char::from(ALPHABET.get(sextet).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes padded or unpadded standard base64; `None` if `text` is not.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut group = 0u32;
    let mut bits = 0u32;
    for byte in body.bytes() {
        let value = ALPHABET.iter().position(|&c| c == byte)?;
        group = group << 6 | u32::try_from(value).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((group >> bits) & 0xFF).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(input: &str, expected: Expect) {
        let encoded = encode(input.as_bytes());
        let decoded = decode(&encoded).map(|b| String::from_utf8(b).unwrap());
        expected.assert_eq(&format!("{encoded} {decoded:?}"));
    }

    #[test]
    fn round_trips_with_every_padding() {
        check("", expect![[r#" Some("")"#]]);
        check("f", expect![[r#"Zg== Some("f")"#]]);
        check("fo", expect![[r#"Zm8= Some("fo")"#]]);
        check("foo", expect![[r#"Zm9v Some("foo")"#]]);
        check("foobar", expect![[r#"Zm9vYmFy Some("foobar")"#]]);
    }

    #[test]
    fn rejects_what_is_not_base64() {
        assert_eq!(decode("Zm9v!"), None);
        assert_eq!(decode("Z"), None);
        assert_eq!(decode("Zg==="), None);
        assert_eq!(decode("Zm9"), Some(b"fo".to_vec()));
    }

    proptest::proptest! {
        #[test]
        fn decode_inverts_encode(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            proptest::prop_assert_eq!(decode(&encode(&bytes)), Some(bytes));
        }
    }
}
