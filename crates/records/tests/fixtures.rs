//! Fixtures of every real record shape, decoded as `cargo xtask records
//! decode` prints them: one JSON line per record, or the record's error.
//! Expected outputs live beside the inputs (`fixtures/NAME.expected`);
//! `UPDATE_EXPECT=1 cargo test` rewrites them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use expect_test::{ExpectFile, expect_file};

fn check(name: &str, expected: ExpectFile) {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    let shown = match streamgate_records::decode_event_items(&bytes) {
        Err(e) => format!("not an event: {e}\n"),
        Ok(records) => records
            .iter()
            .map(|r| match r {
                Ok(event) => format!("{}\n", event.to_json()),
                Err(e) => format!("{}\n", e.to_json()),
            })
            .collect(),
    };
    expected.assert_eq(&shown);
}

#[test]
fn lambda_event() {
    check(
        "lambda_event",
        expect_file!["fixtures/lambda_event.expected"],
    );
}

#[test]
fn get_records_response() {
    check(
        "get_records_response",
        expect_file!["fixtures/get_records_response.expected"],
    );
}

#[test]
fn ttl_delete() {
    check("ttl_delete", expect_file!["fixtures/ttl_delete.expected"]);
}

/// A TTL deletion as the GetRecords wire response spells it:
/// `userIdentity` with the `Identity` shape's `Type` and `PrincipalId`.
#[test]
fn get_records_ttl_delete() {
    check(
        "get_records_ttl_delete",
        expect_file!["fixtures/get_records_ttl_delete.expected"],
    );
    // The public decoders (the specialised walk) see it too.
    let path = format!(
        "{}/tests/fixtures/get_records_ttl_delete.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap();
    let raw = streamgate_records::decode_event(&bytes).unwrap();
    let typed = streamgate_records::decode_event_as::<serde_json::Value>(&bytes).unwrap();
    let raw: Vec<bool> = raw
        .iter()
        .map(|r| r.as_ref().unwrap().is_ttl_delete())
        .collect();
    let typed: Vec<bool> = typed
        .iter()
        .map(|r| r.as_ref().unwrap().is_ttl_delete())
        .collect();
    assert_eq!(raw, [true, false]);
    assert_eq!(typed, [true, false]);
    let identity = streamgate_records::decode_event(&bytes).unwrap()[0]
        .as_ref()
        .unwrap()
        .user_identity
        .clone()
        .unwrap();
    assert_eq!(
        (identity.kind.as_str(), identity.principal_id.as_str()),
        ("Service", "dynamodb.amazonaws.com")
    );
}

#[test]
fn every_type() {
    check("every_type", expect_file!["fixtures/every_type.expected"]);
}

#[test]
fn missing_optional_fields() {
    check(
        "missing_optional_fields",
        expect_file!["fixtures/missing_optional_fields.expected"],
    );
}

#[test]
fn bad_records() {
    check("bad_records", expect_file!["fixtures/bad_records.expected"]);
}

#[test]
fn not_an_event() {
    check(
        "not_an_event",
        expect_file!["fixtures/not_an_event.expected"],
    );
}

#[test]
fn typed_views_of_the_fixtures_agree_with_the_untyped_one() {
    // The raw (lazy) decoder and the item decoder see the same records.
    for name in [
        "lambda_event",
        "get_records_response",
        "ttl_delete",
        "get_records_ttl_delete",
        "every_type",
    ] {
        let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap();
        let raw = streamgate_records::decode_event(&bytes).unwrap();
        let items = streamgate_records::decode_event_items(&bytes).unwrap();
        assert_eq!(raw.len(), items.len());
        for (raw, item) in raw.iter().zip(&items) {
            let (raw, item) = (raw.as_ref().unwrap(), item.as_ref().unwrap());
            assert_eq!(raw.to_json()["keys"], item.to_json()["keys"]);
            let lazily = raw.change.new_image().map(|i| i.item().unwrap());
            assert_eq!(lazily.as_ref(), item.change.new_image(), "{name}");
        }
    }
}

#[test]
fn deep_nesting_to_dynamodb_limit() {
    // DynamoDB allows 32 levels of nesting.
    let mut value = r#"{"S": "bottom"}"#.to_owned();
    for _ in 0..32 {
        value = format!(r#"{{"M": {{"next": {value}}}}}"#);
    }
    let json = format!(
        r#"{{"Records": [{{"eventID": "d", "eventName": "INSERT", "dynamodb": {{"Keys": {{"id": {{"S": "d"}}}}, "SequenceNumber": "1", "NewImage": {{"deep": {value}}}}}}}]}}"#
    );
    let records = streamgate_records::decode_event_items(json.as_bytes()).unwrap();
    let event = records[0].as_ref().unwrap();
    let mut current = &event.change.new_image().unwrap()["deep"];
    let mut depth = 0;
    while let streamgate_records::AttributeValue::M(m) = current {
        current = &m["next"];
        depth += 1;
    }
    assert_eq!(depth, 32);
    assert_eq!(current.as_s(), Some("bottom"));
    // The typed decoder reads the same depth into a self-describing type.
    let typed = streamgate_records::decode_event_as::<serde_json::Value>(json.as_bytes()).unwrap();
    let mut value = &typed[0].as_ref().unwrap().change.new_image().unwrap()["deep"];
    for _ in 0..32 {
        value = &value["next"];
    }
    assert_eq!(value, "bottom");
    // Far deeper than DynamoDB allows: refused as input, never a crash.
    let mut value = r#"{"S": "bottom"}"#.to_owned();
    for _ in 0..2000 {
        value = format!(r#"{{"M": {{"next": {value}}}}}"#);
    }
    let json = json.replace(r#"{"S": "bottom"}"#, &value);
    let refused = |records: Result<Vec<Result<_, _>>, _>| match records {
        Err(_) => true,
        Ok(records) => records.iter().all(Result::is_err),
    };
    assert!(refused(
        streamgate_records::decode_event_as::<serde_json::Value>(json.as_bytes())
            .map(|r| r.into_iter().map(|r| r.map(drop)).collect())
    ));
    assert!(refused(
        streamgate_records::decode_event_items(json.as_bytes())
            .map(|r| r.into_iter().map(|r| r.map(drop)).collect())
    ));
}
