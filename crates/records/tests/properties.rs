//! Property tests: arbitrary items survive JSON and decoding unchanged, the
//! one-pass deserializer agrees with a simple reference, user structs round
//! trip through items, and no input, random or mutated, makes anything panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use streamgate_records::{
    AttributeValue, BinarySet, Decimal, Item, Number, NumberSet, StringSet, decode_event,
    decode_event_as, decode_event_items, from_item, from_json_item, to_item,
};

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        (any::<i64>(), -120i32..100).prop_map(|(m, e)| {
            Number::try_from(Decimal {
                mantissa: i128::from(m),
                exponent: e,
            })
            .unwrap()
        }),
        "-?[0-9]{1,20}(\\.[0-9]{1,18})?".prop_filter_map("valid", |t| Number::new(t).ok()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    // Includes characters JSON must escape, so owned (unborrowed) strings
    // are exercised too.
    "[a-z\"\\\\é\n ]{1,6}"
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \"\\\\é😀\t]{0,10}"
}

fn value(binary: bool) -> impl Strategy<Value = AttributeValue> {
    let mut leaves = vec![
        text().prop_map(AttributeValue::S).boxed(),
        number().prop_map(AttributeValue::N).boxed(),
        any::<bool>().prop_map(AttributeValue::Bool).boxed(),
        Just(AttributeValue::Null).boxed(),
        prop::collection::hash_set(text(), 1..4)
            .prop_map(|s| AttributeValue::Ss(StringSet::new(s.into_iter().collect()).unwrap()))
            .boxed(),
        prop::collection::hash_set(any::<i32>(), 1..4)
            .prop_map(|s| {
                let numbers = s.into_iter().map(Number::from).collect();
                AttributeValue::Ns(NumberSet::new(numbers).unwrap())
            })
            .boxed(),
    ];
    if binary {
        leaves.push(
            prop::collection::vec(any::<u8>(), 0..8)
                .prop_map(AttributeValue::B)
                .boxed(),
        );
        leaves.push(
            prop::collection::hash_set(prop::collection::vec(any::<u8>(), 0..5), 1..4)
                .prop_map(|s| AttributeValue::Bs(BinarySet::new(s.into_iter().collect()).unwrap()))
                .boxed(),
        );
    }
    let leaf = proptest::strategy::Union::new(leaves);
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
            prop::collection::btree_map(name(), inner, 0..4)
                .prop_map(|m| AttributeValue::M(Item::from(m))),
        ]
    })
}

fn item(binary: bool) -> impl Strategy<Value = Item> {
    prop::collection::btree_map(name(), value(binary), 0..6).prop_map(Item::from)
}

/// A reference for what the one-pass deserializer hands to a self-describing
/// type: written from the specification, sharing no code with the adapter.
fn plain(value: &AttributeValue) -> serde_json::Value {
    use serde_json::Value;
    let number = |n: &Number| {
        if let Ok(v) = n.to_i64() {
            Value::from(v)
        } else if let Ok(v) = n.to_u64() {
            Value::from(v)
        } else if let Ok(v) = n.to_f64() {
            Value::from(v)
        } else {
            Value::from(n.as_str())
        }
    };
    match value {
        AttributeValue::S(s) => Value::from(s.as_str()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::from(*b),
        AttributeValue::Null => Value::Null,
        AttributeValue::M(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
        }
        AttributeValue::L(l) => Value::Array(l.iter().map(plain).collect()),
        AttributeValue::Ss(s) => Value::Array(
            s.as_slice()
                .iter()
                .map(|s| Value::from(s.as_str()))
                .collect(),
        ),
        AttributeValue::Ns(s) => Value::Array(s.as_slice().iter().map(number).collect()),
        other => panic!("no plain form for {other:?}"),
    }
}

fn event_with_image(item: &Item) -> String {
    format!(
        r#"{{"Records": [{{"eventID": "p", "eventName": "INSERT", "dynamodb": {{"Keys": {{"id": {{"S": "p"}}}}, "SequenceNumber": "1", "NewImage": {}}}}}]}}"#,
        serde_json::to_string(item).unwrap()
    )
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Status {
    Draft,
    Published,
    Archived { at: u64, by: String },
    Moved(String),
    Split(u8, bool),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    lines: Vec<String>,
    zip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Document {
    id: String,
    pages: u32,
    delta: i64,
    big: u128,
    ratio: f64,
    draft: bool,
    status: Status,
    reviewer: Option<String>,
    scores: Vec<u16>,
    address: Address,
    counters: BTreeMap<String, i32>,
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Draft),
        Just(Status::Published),
        (any::<u64>(), text()).prop_map(|(at, by)| Status::Archived { at, by }),
        text().prop_map(Status::Moved),
        (any::<u8>(), any::<bool>()).prop_map(|(a, b)| Status::Split(a, b)),
    ]
}

fn document() -> impl Strategy<Value = Document> {
    (
        (
            text(),
            any::<u32>(),
            any::<i64>(),
            any::<u64>(),
            -1.0e12f64..1.0e12,
        ),
        (
            any::<bool>(),
            status(),
            proptest::option::of(text()),
            prop::collection::vec(any::<u16>(), 0..4),
        ),
        (
            prop::collection::vec(text(), 0..3),
            proptest::option::of(text()),
        ),
        prop::collection::btree_map(name(), any::<i32>(), 0..3),
    )
        .prop_map(
            |(
                (id, pages, delta, big, ratio),
                (draft, published, reviewer, scores),
                (lines, zip),
                counters,
            )| Document {
                id,
                pages,
                delta,
                big: u128::from(big) * 1000,
                ratio,
                draft,
                status: published,
                reviewer,
                scores,
                address: Address { lines, zip },
                counters,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(256)
    })]

    #[test]
    fn items_survive_json_and_every_decoder(item in item(true)) {
        let json = serde_json::to_string(&item).unwrap();
        prop_assert_eq!(&from_json_item::<Item>(&json).unwrap(), &item);
        prop_assert_eq!(&serde_json::from_str::<Item>(&json).unwrap(), &item);

        let event = event_with_image(&item);
        let items = decode_event_items(event.as_bytes()).unwrap();
        prop_assert_eq!(items[0].as_ref().unwrap().change.new_image(), Some(&item));
        let typed = decode_event_as::<Item>(event.as_bytes()).unwrap();
        prop_assert_eq!(typed[0].as_ref().unwrap().change.new_image(), Some(&item));
        let raw = decode_event(event.as_bytes()).unwrap();
        prop_assert_eq!(raw[0].as_ref().unwrap().new_image::<Item>().unwrap(), Some(item));
    }

    #[test]
    fn one_pass_deserializer_agrees_with_the_reference(item in item(false)) {
        let json = serde_json::to_string(&item).unwrap();
        let fast: serde_json::Value = from_json_item(&json).unwrap();
        let reference = plain(&AttributeValue::M(item));
        prop_assert_eq!(fast, reference);
    }

    #[test]
    fn specialised_parser_agrees_with_the_general_adapter(item in item(true)) {
        // `new_image` (the parser for isolated images) against
        // `from_json_item` (the adapter over serde_json), on any item.
        let event = event_with_image(&item);
        let records = decode_event(event.as_bytes()).unwrap();
        let record = records[0].as_ref().unwrap();
        let raw = record.change.new_image().unwrap().json();
        let fast: Result<serde_json::Value, _> = record.new_image().map(Option::unwrap);
        let general: Result<serde_json::Value, _> = from_json_item(raw);
        prop_assert_eq!(fast.is_ok(), general.is_ok(), "{:?} vs {:?}", fast, general);
        if let (Ok(a), Ok(b)) = (fast, general) {
            prop_assert_eq!(a, b);
        }
        prop_assert_eq!(&record.new_image::<Item>().unwrap().unwrap(), &item);
    }

    #[test]
    fn specialised_parser_agrees_on_broken_items(
        item in item(true),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"{}[]\",:0aN1SLMe ".to_vec()),
    ) {
        let mut json = serde_json::to_string(&item).unwrap().into_bytes();
        let i = at.index(json.len());
        json[i] = byte;
        let Ok(json) = String::from_utf8(json) else { return Ok(()) };
        let event = format!(
            r#"{{"Records": [{{"eventID": "p", "eventName": "INSERT", "dynamodb": {{"Keys": {{}}, "SequenceNumber": "1", "NewImage": {json}}}}}]}}"#
        );
        let Ok(records) = decode_event(event.as_bytes()) else { return Ok(()) };
        let Ok(record) = &records[0] else { return Ok(()) };
        let fast: Result<Option<serde_json::Value>, _> = record.new_image();
        let general: Result<serde_json::Value, _> = from_json_item(&json);
        prop_assert_eq!(fast.is_ok(), general.is_ok(), "{} gave {:?} vs {:?}", json, fast, general);
        if let (Ok(a), Ok(b)) = (fast, general) {
            prop_assert_eq!(a, Some(b));
        }
        let fast_doc: Result<Option<Document>, _> = record.new_image();
        let general_doc: Result<Document, _> = from_json_item(&json);
        prop_assert_eq!(fast_doc.is_ok(), general_doc.is_ok());
    }

    #[test]
    fn user_structs_round_trip_through_items(doc in document()) {
        let item = to_item(&doc).unwrap();
        prop_assert_eq!(&from_item::<Document>(&item).unwrap(), &doc);
        let json = serde_json::to_string(&item).unwrap();
        prop_assert_eq!(&from_json_item::<Document>(&json).unwrap(), &doc);
        let event = event_with_image(&item);
        let typed = decode_event_as::<Document>(event.as_bytes()).unwrap();
        prop_assert_eq!(typed[0].as_ref().unwrap().change.new_image(), Some(&doc));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_event(&bytes);
        let _ = decode_event_items(&bytes);
        let _ = decode_event_as::<Document>(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = from_json_item::<Item>(text);
            let _ = from_json_item::<Document>(text);
        }
    }

    #[test]
    fn mutated_records_never_panic(
        fixture in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let name = ["every_type", "lambda_event", "bad_records"][fixture];
        let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let mut bytes = std::fs::read(path).unwrap();
        for (at, byte, kind) in edits {
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        if let Ok(records) = decode_event_items(&bytes) {
            // Whatever decoded prints, and errors say which record they are.
            for (index, record) in records.iter().enumerate() {
                match record {
                    Ok(event) => { let _ = event.to_json(); }
                    Err(e) => prop_assert_eq!(e.index, index),
                }
            }
        }
        let _ = decode_event(&bytes);
        let _ = decode_event_as::<serde_json::Value>(&bytes);
    }
}

#[test]
fn one_bad_record_does_not_disturb_its_neighbours() {
    // The same valid record around a bad one decodes identically.
    let good = r#"{"eventID": "g", "eventName": "INSERT", "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "1", "NewImage": {"id": {"S": "a"}, "pages": {"N": "3"}, "l": {"L": [{"M": {"x": {"N": "1"}}}]}}}}"#;
    let bads = [
        r#"{"eventID": "b", "eventName": "INSERT", "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "2", "NewImage": {"pages": {"N": "x"}, "l": {"L": [{"M": {"x": {"N": "1"}}}]}}}}"#,
        r#"{"eventID": "b", "eventName": "INSERT", "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "2", "NewImage": {"l": {"L": [{"M": {"x": {"Q": {"deep": [1, {"a": 2}]}}}}]}}}}"#,
        r#"{"eventID": "b", "eventName": "INSERT", "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "2", "NewImage": {"pages": {"S": {"nested": ["x"]}}}}}"#,
        r#"{"eventID": "b", "eventName": "INSERT", "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "2", "NewImage": [1, 2, {"x": 3}]}}"#,
        r#"[{"eventID": "b"}]"#,
    ];
    #[derive(Deserialize, Debug, PartialEq)]
    struct Doc {
        pages: u32,
    }
    for bad in bads {
        let json = format!(r#"{{"Records": [{good}, {bad}, {good}]}}"#);
        let typed: Vec<_> = decode_event_as::<Doc>(json.as_bytes())
            .unwrap()
            .into_iter()
            .map(|r| {
                r.map(|e| e.change.new_image().map(|d| d.pages))
                    .map_err(|e| e.to_string())
            })
            .collect();
        let raw = decode_event(json.as_bytes()).unwrap();
        let lazy: Vec<_> = raw
            .iter()
            .map(|r| match r {
                Ok(e) => e
                    .new_image::<Doc>()
                    .map(|d| d.map(|d| d.pages))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            })
            .collect();
        for records in [typed, lazy] {
            assert_eq!(records.len(), 3, "{bad}");
            assert_eq!(records[0].as_ref().unwrap(), &Some(3), "{bad}");
            assert!(records[1].is_err(), "{bad}");
            assert_eq!(records[2].as_ref().unwrap(), &Some(3), "{bad}");
        }
        let items = decode_event_items(json.as_bytes()).unwrap();
        assert!(items[0].is_ok() && items[2].is_ok(), "{bad}");
    }
}
