//! The per-record and per-batch handlers, called directly with fixture
//! batches: each test states the records (key, sequence number, what the
//! function does with it) and the expected outcome as an inline snapshot.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::RefCell;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

use expect_test::{Expect, expect};
use streamgate_consumer::idempotency::{
    InMemoryProcessedRecords, ProcessedRecords, RecordIdentity, StoreError, skip_processed,
};
use streamgate_consumer::lambda_runtime::Context;
use streamgate_consumer::{
    BatchHandler, BatchVerdict, ChangeEvent, InvocationError, Mode, StreamHandler,
};

/// One record of a fixture: the item key, its sequence number, and what the
/// function does with it (`ok`, `fail`, `panic`), or `BAD` to make the
/// record undecodable (an unknown event name), or `NOSEQ` for an
/// undecodable record that has no sequence number either.
type Spec<'a> = (&'a str, &'a str, &'a str);

/// The stream the fixture batches come from, unless a test says otherwise.
const STREAM: &str =
    "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";

fn batch(records: &[Spec<'_>]) -> Vec<u8> {
    batch_from(Some(STREAM), records)
}

/// A batch of `records` from the stream `source` (`None`: no
/// `eventSourceARN`).
fn batch_from(source: Option<&str>, records: &[Spec<'_>]) -> Vec<u8> {
    let source = source
        .map(|arn| format!(r#""eventSourceARN":"{arn}","#))
        .unwrap_or_default();
    let records: Vec<String> = records
        .iter()
        .map(|(key, seq, action)| match *action {
            "BAD" => format!(
                r#"{{"eventID":"e{seq}","eventName":"UPSERT","dynamodb":{{"Keys":{{"id":{{"S":"{key}"}}}},"SequenceNumber":"{seq}"}}}}"#
            ),
            "NOSEQ" => format!(
                r#"{{"eventID":"e{seq}","eventName":"INSERT","dynamodb":{{"Keys":{{"id":{{"S":"{key}"}}}}}}}}"#
            ),
            _ => format!(
                r#"{{"eventID":"e{seq}","eventName":"INSERT","eventSource":"aws:dynamodb",{source}"awsRegion":"eu-west-1",
                "dynamodb":{{"Keys":{{"id":{{"S":"{key}"}}}},"SequenceNumber":"{seq}",
                "NewImage":{{"id":{{"S":"{key}"}},"action":{{"S":"{action}"}}}},"StreamViewType":"NEW_IMAGE"}}}}"#
            ),
        })
        .collect();
    format!(r#"{{"Records":[{}]}}"#, records.join(",")).into_bytes()
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

#[derive(serde::Deserialize)]
struct Fixture {
    id: String,
    action: String,
}

/// Runs `records` through a StreamHandler in `mode` and prints the calls the
/// function saw and the outcome.
fn check(
    mode: Mode,
    records: &[Spec<'_>],
    callback: bool,
    all_failed_fails: bool,
    expected: Expect,
) {
    let calls = RefCell::new(Vec::new());
    let function = async |event: ChangeEvent<'_>, _ctx: &Context| -> Result<(), String> {
        let doc: Fixture = event.new_image().unwrap().unwrap();
        calls
            .borrow_mut()
            .push(format!("{}@{}", doc.id, event.sequence_number));
        // Let other item groups run between records, so concurrency shows.
        tokio::task::yield_now().await;
        match doc.action.as_str() {
            "fail" => Err(format!("cannot process {}", doc.id)),
            "panic" => panic!("boom on {}", doc.id),
            _ => Ok(()),
        }
    };
    let mut handler = StreamHandler::new(function)
        .mode(mode)
        .fail_invocation_when_all_failed(all_failed_fails);
    if callback {
        handler = handler.on_undecodable(|e| {
            if e.event_id.as_deref() == Some("e666") {
                Err("dead letter store refused it".into())
            } else {
                Ok(())
            }
        });
    }
    let outcome = block_on(handler.process(&batch(records), &Context::default()));
    let mut out = format!("calls: {}\n", calls.borrow().join(" "));
    match outcome {
        Ok(o) => {
            out.push_str(&format!(
                "succeeded {} failed {} not attempted {} undecodable handled {}\n",
                o.succeeded, o.failed, o.not_attempted, o.undecodable_handled
            ));
            for f in &o.failures {
                out.push_str(&format!(
                    "failure #{} {}: {}\n",
                    f.index, f.sequence_number, f.reason
                ));
            }
            out.push_str(&serde_json::to_string(&o.response).unwrap());
            out.push('\n');
        }
        Err(e) => out.push_str(&format!("invocation error: {e}\n")),
    }
    expected.assert_eq(&out);
}

fn concurrent(n: usize) -> Mode {
    Mode::Concurrent {
        max_in_flight: NonZeroUsize::new(n).unwrap(),
    }
}

#[test]
fn all_succeed() {
    check(
        Mode::FailFast,
        &[("a", "100", "ok"), ("b", "101", "ok"), ("a", "102", "ok")],
        false,
        false,
        expect![[r#"
            calls: a@100 b@101 a@102
            succeeded 3 failed 0 not attempted 0 undecodable handled 0
            {"batchItemFailures":[]}
        "#]],
    );
}

#[test]
fn fail_fast_stops_at_the_first_failure() {
    check(
        Mode::FailFast,
        &[
            ("a", "100", "ok"),
            ("b", "101", "fail"),
            ("c", "102", "ok"),
            ("d", "103", "fail"),
        ],
        false,
        false,
        expect![[r#"
            calls: a@100 b@101
            succeeded 1 failed 1 not attempted 2 undecodable handled 0
            failure #1 101: handler error: cannot process b
            {"batchItemFailures":[{"itemIdentifier":"101"}]}
        "#]],
    );
}

#[test]
fn an_undecodable_record_fails_itself() {
    check(
        Mode::FailFast,
        &[("a", "100", "ok"), ("b", "101", "BAD"), ("c", "102", "ok")],
        false,
        false,
        expect![[r#"
            calls: a@100
            succeeded 1 failed 1 not attempted 1 undecodable handled 0
            failure #1 101: undecodable: record 1 (event id e101, sequence number 101): eventName: unknown event name "UPSERT", expected INSERT, MODIFY or REMOVE
            {"batchItemFailures":[{"itemIdentifier":"101"}]}
        "#]],
    );
}

#[test]
fn the_callback_takes_undecodable_records_or_fails_them() {
    check(
        Mode::FailFast,
        &[
            ("a", "100", "BAD"),
            ("b", "101", "ok"),
            ("c", "666", "BAD"),
            ("d", "667", "ok"),
        ],
        true,
        false,
        expect![[r#"
            calls: b@101
            succeeded 1 failed 1 not attempted 1 undecodable handled 1
            failure #2 666: undecodable (record 2 (event id e666, sequence number 666): eventName: unknown event name "UPSERT", expected INSERT, MODIFY or REMOVE), and the callback failed: dead letter store refused it
            {"batchItemFailures":[{"itemIdentifier":"666"}]}
        "#]],
    );
}

#[test]
fn a_panic_fails_its_record() {
    check(
        Mode::FailFast,
        &[
            ("a", "100", "ok"),
            ("b", "101", "panic"),
            ("c", "102", "ok"),
        ],
        false,
        false,
        expect![[r#"
            calls: a@100 b@101
            succeeded 1 failed 1 not attempted 1 undecodable handled 0
            failure #1 101: handler panicked: boom on b
            {"batchItemFailures":[{"itemIdentifier":"101"}]}
        "#]],
    );
}

#[test]
fn all_failed_fails_the_invocation_only_when_asked() {
    let records = [("a", "100", "fail"), ("b", "101", "fail")];
    check(
        concurrent(4),
        &records,
        false,
        true,
        expect![[r#"
            calls: a@100 b@101
            invocation error: no record of the batch succeeded (2 failed, 0 not attempted)
        "#]],
    );
    // Fail-fast stops at the first failure: the rest were not attempted,
    // and the error must not claim they failed.
    check(
        Mode::FailFast,
        &records,
        false,
        true,
        expect![[r#"
            calls: a@100
            invocation error: no record of the batch succeeded (1 failed, 1 not attempted)
        "#]],
    );
    check(
        concurrent(4),
        &records,
        false,
        false,
        expect![[r#"
            calls: a@100 b@101
            succeeded 0 failed 2 not attempted 0 undecodable handled 0
            failure #0 100: handler error: cannot process a
            failure #1 101: handler error: cannot process b
            {"batchItemFailures":[{"itemIdentifier":"100"},{"itemIdentifier":"101"}]}
        "#]],
    );
}

#[test]
fn a_failure_without_a_sequence_number_fails_the_invocation() {
    check(
        Mode::FailFast,
        &[("a", "100", "ok"), ("b", "101", "NOSEQ")],
        false,
        false,
        expect![[r#"
            calls: a@100
            invocation error: record 1 (event id e101) failed and has no sequence number to report it by: undecodable: record 1 (event id e101, sequence number unknown): dynamodb.SequenceNumber: required field is missing
        "#]],
    );
}

#[test]
fn concurrent_mode_interleaves_items_and_keeps_each_items_order() {
    check(
        concurrent(2),
        &[
            ("a", "100", "ok"),
            ("a", "101", "ok"),
            ("b", "102", "ok"),
            ("a", "103", "ok"),
            ("b", "104", "ok"),
            ("c", "105", "ok"),
        ],
        false,
        false,
        expect![[r#"
            calls: a@100 b@102 b@104 a@101 a@103 c@105
            succeeded 6 failed 0 not attempted 0 undecodable handled 0
            {"batchItemFailures":[]}
        "#]],
    );
}

#[test]
fn concurrent_mode_stops_only_the_failed_item() {
    check(
        concurrent(3),
        &[
            ("a", "100", "ok"),
            ("a", "101", "fail"),
            ("b", "102", "ok"),
            ("a", "103", "ok"),
            ("b", "104", "panic"),
            ("c", "105", "ok"),
            ("b", "106", "ok"),
        ],
        false,
        false,
        expect![[r#"
            calls: a@100 b@102 c@105 b@104 a@101
            succeeded 3 failed 2 not attempted 2 undecodable handled 0
            failure #1 101: handler error: cannot process a
            failure #4 104: handler panicked: boom on b
            {"batchItemFailures":[{"itemIdentifier":"101"},{"itemIdentifier":"104"}]}
        "#]],
    );
}

#[test]
fn concurrent_mode_runs_a_batch_with_an_undecodable_record_in_order() {
    check(
        concurrent(4),
        &[
            ("a", "100", "ok"),
            ("b", "101", "ok"),
            ("a", "102", "BAD"),
            ("b", "103", "ok"),
        ],
        false,
        false,
        expect![[r#"
            calls: a@100 b@101
            succeeded 2 failed 1 not attempted 1 undecodable handled 0
            failure #2 102: undecodable: record 2 (event id e102, sequence number 102): eventName: unknown event name "UPSERT", expected INSERT, MODIFY or REMOVE
            {"batchItemFailures":[{"itemIdentifier":"102"}]}
        "#]],
    );
}

/// Runs records of a table keyed by `tenant` (partition key) and `doc`
/// (sort key) concurrently, naming the partition key or not, and prints
/// when each record's function started and ended, then the outcome.
fn check_composite(
    partition_key: Option<&str>,
    records: &[(&str, &str, &str, &str)],
    expected: Expect,
) {
    let records: Vec<String> = records
        .iter()
        .map(|(tenant, doc, seq, action)| {
            format!(
                r#"{{"eventID":"e{seq}","eventName":"INSERT","eventSourceARN":"{STREAM}",
                "dynamodb":{{"Keys":{{"tenant":{{"S":"{tenant}"}},"doc":{{"S":"{doc}"}}}},"SequenceNumber":"{seq}",
                "NewImage":{{"id":{{"S":"{tenant}/{doc}"}},"action":{{"S":"{action}"}}}}}}}}"#
            )
        })
        .collect();
    let payload = format!(r#"{{"Records":[{}]}}"#, records.join(","));
    let log = RefCell::new(Vec::new());
    let function = async |event: ChangeEvent<'_>, _ctx: &Context| -> Result<(), String> {
        let doc: Fixture = event.new_image().unwrap().unwrap();
        log.borrow_mut().push(format!("+{}", doc.id));
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        log.borrow_mut().push(format!("-{}", doc.id));
        match doc.action.as_str() {
            "fail" => Err(format!("cannot process {}", doc.id)),
            _ => Ok(()),
        }
    };
    let mut handler = StreamHandler::new(function).concurrent(NonZeroUsize::new(4).unwrap());
    if let Some(name) = partition_key {
        handler = handler.partition_key(name);
    }
    let outcome = block_on(handler.process(payload.as_bytes(), &Context::default())).unwrap();
    expected.assert_eq(&format!(
        "{}\nsucceeded {} failed {} not attempted {}\n{}\n",
        log.borrow().join(" "),
        outcome.succeeded,
        outcome.failed,
        outcome.not_attempted,
        serde_json::to_string(&outcome.response).unwrap()
    ));
}

#[test]
fn concurrent_mode_keeps_a_partition_keys_order_across_sort_keys() {
    let records = [
        ("t1", "d1", "100", "ok"),
        ("t1", "d2", "101", "ok"),
        ("t2", "d1", "102", "ok"),
        ("t1", "d3", "103", "ok"),
    ];
    // t1's records run one after the other, in stream order; t2 alongside.
    check_composite(
        Some("tenant"),
        &records,
        expect![[r#"
            +t1/d1 +t2/d1 -t2/d1 -t1/d1 +t1/d2 -t1/d2 +t1/d3 -t1/d3
            succeeded 4 failed 0 not attempted 0
            {"batchItemFailures":[]}
        "#]],
    );
    // Unnamed, a composite key does not tell the partition key: in order.
    check_composite(
        None,
        &records,
        expect![[r#"
            +t1/d1 -t1/d1 +t1/d2 -t1/d2 +t2/d1 -t2/d1 +t1/d3 -t1/d3
            succeeded 4 failed 0 not attempted 0
            {"batchItemFailures":[]}
        "#]],
    );
}

#[test]
fn concurrent_mode_stops_a_partition_key_at_its_first_failure_whatever_the_sort_key() {
    check_composite(
        Some("tenant"),
        &[
            ("t1", "d1", "100", "fail"),
            ("t2", "d1", "101", "ok"),
            ("t1", "d2", "102", "ok"),
        ],
        expect![[r#"
            +t1/d1 +t2/d1 -t2/d1 -t1/d1
            succeeded 1 failed 1 not attempted 1
            {"batchItemFailures":[{"itemIdentifier":"100"}]}
        "#]],
    );
}

#[test]
fn concurrency_is_bounded() {
    let in_flight = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let function = async |_event: ChangeEvent<'_>, _ctx: &Context| -> Result<(), String> {
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(now, Ordering::SeqCst);
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    };
    let records: Vec<(String, String)> = (0..20)
        .map(|i| (format!("k{i}"), format!("{}", 100 + i)))
        .collect();
    let specs: Vec<Spec<'_>> = records
        .iter()
        .map(|(k, s)| (k.as_str(), s.as_str(), "ok"))
        .collect();
    let handler = StreamHandler::new(function).concurrent(NonZeroUsize::new(3).unwrap());
    let outcome = block_on(handler.process(&batch(&specs), &Context::default())).unwrap();
    assert_eq!(outcome.succeeded, 20);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
}

#[test]
fn a_payload_that_is_not_an_event_fails_the_invocation() {
    let handler =
        StreamHandler::new(async |_e: ChangeEvent<'_>, _c: &Context| Ok::<(), String>(()));
    let err = block_on(handler.process(br#"{"detail": {}}"#, &Context::default())).unwrap_err();
    assert!(matches!(err, InvocationError::NotAnEvent(_)), "{err}");
    expect![[r#"the payload is not a DynamoDB stream event: not a DynamoDB stream event (an object with a "Records" array): the object has no "Records" field"#]]
        .assert_eq(&err.to_string());
}

#[test]
fn skip_processed_runs_each_record_once_across_redeliveries() {
    let calls = RefCell::new(Vec::new());
    let function = async |event: ChangeEvent<'_>, _ctx: &Context| -> Result<(), String> {
        calls.borrow_mut().push(event.sequence_number.to_string());
        Ok(())
    };
    let store = InMemoryProcessedRecords::default();
    let handler = StreamHandler::new(skip_processed(
        &store,
        RecordIdentity::SequenceNumber,
        function,
    ));
    let first = batch(&[("a", "100", "ok"), ("b", "101", "ok")]);
    let redelivered = batch(&[("a", "100", "ok"), ("b", "101", "ok"), ("c", "102", "ok")]);
    block_on(handler.process(&first, &Context::default())).unwrap();
    let outcome = block_on(handler.process(&redelivered, &Context::default())).unwrap();
    assert_eq!(outcome.succeeded, 3);
    assert_eq!(calls.borrow().join(" "), "100 101 102");
    assert_eq!(store.len(), 3);
}

#[test]
fn skip_processed_tells_streams_apart_by_their_sequence_numbers() {
    // Two tenants' streams read by one consumer with one store: their
    // sequence numbers coincide, their records are different records.
    let tenant_b =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
    let tenant_c =
        "arn:aws:dynamodb:eu-west-1:333333333333:table/documents/stream/2024-05-01T12:00:00.000";
    let calls = RefCell::new(Vec::new());
    let function = async |event: ChangeEvent<'_>, _ctx: &Context| -> Result<(), String> {
        let account = event.source.as_ref().unwrap().account().to_string();
        calls
            .borrow_mut()
            .push(format!("{account}@{}", event.sequence_number));
        Ok(())
    };
    let store = InMemoryProcessedRecords::default();
    let handler = StreamHandler::new(skip_processed(
        &store,
        RecordIdentity::SequenceNumber,
        function,
    ));
    let records = [("a", "100", "ok"), ("b", "101", "ok")];
    for source in [tenant_b, tenant_c, tenant_b, tenant_c] {
        let outcome =
            block_on(handler.process(&batch_from(Some(source), &records), &Context::default()))
                .unwrap();
        assert_eq!(outcome.succeeded, 2);
    }
    expect!["222222222222@100 222222222222@101 333333333333@100 333333333333@101"]
        .assert_eq(&calls.borrow().join(" "));
    assert_eq!(store.len(), 4);
}

#[test]
fn skip_processed_fails_a_record_it_cannot_identify() {
    let calls = RefCell::new(0);
    let function = async |_event: ChangeEvent<'_>, _ctx: &Context| -> Result<(), String> {
        *calls.borrow_mut() += 1;
        Ok(())
    };
    let store = InMemoryProcessedRecords::default();
    let by_sequence = StreamHandler::new(skip_processed(
        &store,
        RecordIdentity::SequenceNumber,
        &function,
    ));
    let unsourced = batch_from(None, &[("a", "100", "ok")]);
    let outcome = block_on(by_sequence.process(&unsourced, &Context::default())).unwrap();
    expect!["handler error: record 100 has no eventSourceARN, and a sequence number identifies a record only within its stream"]
        .assert_eq(&outcome.failures[0].reason.to_string());
    assert_eq!(*calls.borrow(), 0, "the function did not run");
    assert!(store.is_empty());
    // The event id needs no source.
    let by_event_id =
        StreamHandler::new(skip_processed(&store, RecordIdentity::EventId, &function));
    let outcome = block_on(by_event_id.process(&unsourced, &Context::default())).unwrap();
    assert_eq!(outcome.succeeded, 1);
    assert_eq!(*calls.borrow(), 1);
}

#[test]
fn a_store_of_ones_own_fails_a_record_with_its_store_error() {
    /// A store that can never be reached.
    struct Unreachable;
    impl ProcessedRecords for Unreachable {
        async fn contains(&self, id: &str) -> Result<bool, StoreError> {
            Err(StoreError::new(id, "connection refused"))
        }
        async fn record(&self, id: &str) -> Result<bool, StoreError> {
            Err(StoreError::new(id, "connection refused"))
        }
    }
    let function = async |_event: ChangeEvent<'_>, _ctx: &Context| -> Result<(), String> { Ok(()) };
    let handler = StreamHandler::new(skip_processed(
        Unreachable,
        RecordIdentity::EventId,
        function,
    ));
    let outcome =
        block_on(handler.process(&batch(&[("a", "100", "ok")]), &Context::default())).unwrap();
    expect![[
        r#"handler error: the processed-records store failed for "e100": connection refused"#
    ]]
    .assert_eq(&outcome.failures[0].reason.to_string());
}

#[test]
fn the_batch_handler_maps_positions_to_sequence_numbers() {
    let function =
        async |batch: Vec<Result<ChangeEvent<'_>, streamgate_consumer::records::RecordError>>,
               _ctx: &Context| {
            let mut verdict = BatchVerdict::all_succeeded();
            for (i, r) in batch.iter().enumerate() {
                if r.is_err() || i == 0 {
                    verdict.fail(i).fail(i);
                }
            }
            Ok::<_, String>(verdict)
        };
    let handler = BatchHandler::new(function);
    let response = block_on(handler.process(
        &batch(&[("a", "100", "ok"), ("b", "101", "ok"), ("c", "102", "BAD")]),
        &Context::default(),
    ))
    .unwrap();
    expect![[r#"{"batchItemFailures":[{"itemIdentifier":"100"},{"itemIdentifier":"102"}]}"#]]
        .assert_eq(&serde_json::to_string(&response).unwrap());

    let out_of_range = BatchHandler::new(
        async |_b: Vec<Result<ChangeEvent<'_>, streamgate_consumer::records::RecordError>>,
               _c: &Context| { Ok::<_, String>(BatchVerdict::from_iter([7])) },
    );
    let err = block_on(out_of_range.process(&batch(&[("a", "100", "ok")]), &Context::default()))
        .unwrap_err();
    expect!["the batch function reported record 7 as failed, but the batch has 1 records"]
        .assert_eq(&err.to_string());
}
