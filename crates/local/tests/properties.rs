//! Properties on random inputs: a signed request verifies and any change to
//! it does not; numbers that are equal name the same key; percent-encoding
//! round-trips; no attribute value makes validation or sizing panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use streamgate_local::attribute::{canonical_number, is_number, validate_value, value_size};
use streamgate_local::sigv4::{parse_authorization, sign, verify};
use streamgate_local::wire::{ReceivedRequest, percent_decode, percent_encode};

const NOW: u64 = 1_714_564_800_000;

fn request(body: String, target: String, query: String) -> ReceivedRequest {
    ReceivedRequest {
        method: "POST".into(),
        path: "/".into(),
        query,
        headers: vec![
            ("host".into(), "127.0.0.1:4577".into()),
            ("x-amz-target".into(), target),
        ],
        body: body.into(),
    }
}

fn verifies(request: &ReceivedRequest) -> bool {
    parse_authorization(request)
        .and_then(|auth| verify(request, &auth, "streamgate-local", NOW))
        .is_ok()
}

proptest! {
    #[test]
    fn signed_requests_verify_and_changed_ones_do_not(
        body in ".{0,64}",
        other_body in ".{0,64}",
        target in "[A-Za-z0-9_.]{1,40}",
        query in "([a-z]{1,5}=[a-z0-9%]{0,5}&){0,3}",
    ) {
        let mut signed = request(body.clone(), target, query);
        sign(&mut signed, "222222222222", "streamgate-local", "eu-west-1", "dynamodb", NOW);
        prop_assert!(verifies(&signed));
        if other_body != body {
            let mut changed = signed.clone();
            changed.body = other_body.into();
            prop_assert!(!verifies(&changed));
        }
        let mut retargeted = signed.clone();
        retargeted.headers[1].1.push('x');
        prop_assert!(!verifies(&retargeted));
        let mut wrong_secret = request(body, "T".into(), String::new());
        sign(&mut wrong_secret, "222222222222", "not-it", "eu-west-1", "dynamodb", NOW);
        prop_assert!(!verifies(&wrong_secret));
    }

    #[test]
    fn equal_numbers_have_one_canonical_form(
        digits in "[1-9][0-9]{0,10}",
        shift in 0usize..5,
        zeros in 0usize..4,
    ) {
        // digits × 10^-shift written three ways.
        let plain = if shift == 0 {
            digits.clone()
        } else if shift < digits.len() {
            format!("{}.{}", &digits[..digits.len() - shift], &digits[digits.len() - shift..])
        } else {
            format!("0.{}{}", "0".repeat(shift - digits.len()), digits)
        };
        let padded = format!("{}{plain}{}", "0".repeat(zeros), if plain.contains('.') { "0".repeat(zeros) } else { String::new() });
        let exponent = format!("{digits}E-{shift}");
        prop_assert!(is_number(&plain) && is_number(&padded) && is_number(&exponent));
        prop_assert_eq!(canonical_number(&plain), canonical_number(&padded));
        prop_assert_eq!(canonical_number(&plain), canonical_number(&exponent));
        prop_assert_ne!(canonical_number(&plain), canonical_number(&format!("-{plain}")));
    }

    #[test]
    fn percent_encoding_round_trips(text in ".{0,40}") {
        prop_assert_eq!(percent_decode(&percent_encode(&text, false), false), text.clone());
        prop_assert_eq!(percent_decode(&percent_encode(&text, true), false), text);
    }

    #[test]
    fn any_json_is_validated_or_refused_without_panicking(json in "[\\[\\]{}\",:a-zA-Z0-9 ]{0,40}") {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&json) {
            let _ = validate_value("a", &value);
            let _ = value_size(&value);
        }
    }
}
