//! The demo function of streamgate: tenants in accounts B and C write one
//! item per processed document (tenant, document id, pages, status) to their
//! own `documents` table; this function, in account A, reads their streams
//! and keeps per-tenant totals (documents, pages) in its `tenant-usage`
//! table.
//!
//! Exactly once in effect despite at-least-once delivery: every change
//! becomes one TransactWriteItems of
//! - an update of the document's marker item (`pk` = `doc#` + stream ARN +
//!   keys) setting `last_sequence` to the record's sequence number, on
//!   condition that the marker has none or a smaller one, and
//! - `ADD documents :d, pages :p` on each affected tenant's total
//!   (`pk` = `tenant#` + tenant).
//!
//! Both happen or neither does, so a crash between steps cannot count a
//! change twice or lose it; a redelivered record fails the condition and is
//! acknowledged without effect ([`Applied::AlreadyApplied`]). Per-key order
//! is the stream's guarantee; markers are per key, so keys processed out of
//! order relative to each other do not interfere. The deltas come from the
//! record's old and new images, so the source table must stream
//! `NEW_AND_OLD_IMAGES`.
//!
//! The handler, [`handle_change`], takes its store as a dependency, so tests
//! call it directly with fixture batches; [`DynamoUsageStore`] is the real
//! one.
//!
//! Tests can make the binary fail records and exit mid-batch through
//! [`faults`] (`DEMO_BILLING_FAULTS`); unset, nothing is injected.
//!
//! # Dependencies
//! - `streamgate-consumer`: the Lambda handler loop and partial batch
//!   failures; `streamgate-records`: typed change events.
//! - `aws-sdk-dynamodb`: the conditional transaction on `tenant-usage`.
//! - `serde`: the document type read from the images.
//! - `thiserror`, `tracing`: typed errors and logs.
//! - `tokio`: the runtime `main` runs on.
//! - With feature `scenario` only: `streamgate-provision` (the demo as a
//!   desired state) and `streamgate-policy` (account ids) for
//!   `scenario`, which the xtask, example 06 and the end-to-end tests
//!   share.

mod change;
pub mod faults;
#[cfg(feature = "scenario")]
pub mod scenario;
mod store;

pub use change::{Document, TenantDelta, UsageChange, plan_change};
pub use store::{
    Applied, DynamoUsageStore, StoreError, USAGE_TABLE_VARIABLE, UsageStore, UsageTable,
};

use streamgate_records::ChangeEvent;

/// Everything that can go wrong with one record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BillingError {
    /// The record does not describe a usable change.
    #[error(transparent)]
    Change(#[from] change::ChangeError),
    /// Writing the change failed; the record should be retried.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies one stream record to the usage totals: plans it, then writes it
/// through `store` unless it changes no total.
pub async fn handle_change<S: UsageStore>(
    store: &S,
    event: ChangeEvent<'_>,
) -> Result<Applied, BillingError> {
    let Some(change) = plan_change(&event)? else {
        tracing::debug!(sequence = %event.sequence_number, "no total changes");
        return Ok(Applied::NoEffect);
    };
    let applied = store.apply(&change).await?;
    tracing::info!(
        sequence = %event.sequence_number,
        marker = %change.marker_key,
        outcome = ?applied,
        "change applied"
    );
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use streamgate_records::decode_event;

    /// Keeps markers and totals like the DynamoDB store does, all or nothing.
    #[derive(Default)]
    struct MemoryStore {
        markers: Mutex<BTreeMap<String, String>>,
        totals: Mutex<BTreeMap<String, (i64, i64)>>,
        fail_marker: Option<String>,
    }

    impl UsageStore for MemoryStore {
        async fn apply(&self, change: &UsageChange) -> Result<Applied, StoreError> {
            if self.fail_marker.as_deref() == Some(change.sequence.trim_start_matches('0')) {
                return Err(StoreError::Injected {
                    marker_key: change.marker_key.clone(),
                });
            }
            let mut markers = self.markers.lock().unwrap();
            if markers
                .get(&change.marker_key)
                .is_some_and(|last| *last >= change.sequence)
            {
                return Ok(Applied::AlreadyApplied);
            }
            markers.insert(change.marker_key.clone(), change.sequence.clone());
            let mut totals = self.totals.lock().unwrap();
            for delta in &change.deltas {
                let total = totals.entry(delta.tenant.clone()).or_default();
                total.0 += delta.documents;
                total.1 += delta.pages;
            }
            Ok(Applied::Applied)
        }
    }

    /// One fixture record: event name, sequence number, document id, old
    /// and new (tenant, pages).
    type Fixture<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<(&'a str, u32)>,
        Option<(&'a str, u32)>,
    );

    fn batch(records: &[Fixture<'_>]) -> String {
        let image = |d: (&str, u32), id: &str| {
            format!(
                r#"{{"id": {{"S": "{id}"}}, "tenant": {{"S": "{}"}}, "pages": {{"N": "{}"}}}}"#,
                d.0, d.1
            )
        };
        let records: Vec<String> = records
            .iter()
            .map(|(name, seq, id, old, new)| {
                let mut images = String::new();
                if let Some(old) = old {
                    images.push_str(&format!(r#""OldImage": {},"#, image(*old, id)));
                }
                if let Some(new) = new {
                    images.push_str(&format!(r#""NewImage": {},"#, image(*new, id)));
                }
                format!(
                    r#"{{"eventID": "e{seq}", "eventName": "{name}", "eventSource": "aws:dynamodb",
                      "awsRegion": "eu-west-1",
                      "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
                      "dynamodb": {{"Keys": {{"id": {{"S": "{id}"}}}}, {images}
                        "SequenceNumber": "{seq}", "StreamViewType": "NEW_AND_OLD_IMAGES"}}}}"#
                )
            })
            .collect();
        format!(r#"{{"Records": [{}]}}"#, records.join(","))
    }

    /// Delivers `input` to the store `deliveries` times, as Lambda may, and
    /// shows each record's outcome of the last delivery and the totals.
    fn check(store: MemoryStore, input: &str, deliveries: usize, expected: Expect) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut outcomes = Vec::new();
        for _ in 0..deliveries {
            outcomes.clear();
            for record in decode_event(input.as_bytes()).unwrap() {
                let event = record.unwrap();
                let sequence = event.sequence_number.to_string();
                let outcome = runtime.block_on(handle_change(&store, event));
                outcomes.push(match outcome {
                    Ok(applied) => format!("{sequence}: {applied:?}"),
                    Err(e) => format!("{sequence}: error: {e}"),
                });
            }
        }
        let totals = store.totals.lock().unwrap();
        let totals: Vec<String> = totals
            .iter()
            .map(|(tenant, (documents, pages))| {
                format!("{tenant}: {documents} documents, {pages} pages")
            })
            .collect();
        expected.assert_eq(&format!(
            "{}\n--\n{}",
            outcomes.join("\n"),
            totals.join("\n")
        ));
    }

    const MIXED: &[Fixture<'static>] = &[
        ("INSERT", "100", "a", None, Some(("acme", 10))),
        ("INSERT", "101", "b", None, Some(("acme", 3))),
        ("INSERT", "102", "c", None, Some(("globex", 7))),
        ("MODIFY", "103", "a", Some(("acme", 10)), Some(("acme", 12))),
        ("REMOVE", "104", "b", Some(("acme", 3)), None),
        (
            "MODIFY",
            "105",
            "c",
            Some(("globex", 7)),
            Some(("globex", 7)),
        ),
    ];

    #[test]
    fn one_delivery_counts_each_change() {
        check(
            MemoryStore::default(),
            &batch(MIXED),
            1,
            expect![[r#"
                100: Applied
                101: Applied
                102: Applied
                103: Applied
                104: Applied
                105: NoEffect
                --
                acme: 1 documents, 12 pages
                globex: 1 documents, 7 pages"#]],
        );
    }

    #[test]
    fn redelivery_changes_nothing() {
        check(
            MemoryStore::default(),
            &batch(MIXED),
            3,
            expect![[r#"
                100: AlreadyApplied
                101: AlreadyApplied
                102: AlreadyApplied
                103: AlreadyApplied
                104: AlreadyApplied
                105: NoEffect
                --
                acme: 1 documents, 12 pages
                globex: 1 documents, 7 pages"#]],
        );
    }

    #[test]
    fn a_failed_write_is_an_error_and_changes_no_total() {
        let store = MemoryStore {
            fail_marker: Some("103".to_owned()),
            ..MemoryStore::default()
        };
        check(
            store,
            &batch(MIXED),
            1,
            expect![[r#"
            100: Applied
            101: Applied
            102: Applied
            103: error: injected failure for doc#arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"a"}}
            104: Applied
            105: NoEffect
            --
            acme: 1 documents, 10 pages
            globex: 1 documents, 7 pages"#]],
        );
    }

    /// One write to the source table: document id, then the tenant and
    /// pages it now has, or `None` for a delete.
    type Write = (u8, Option<(bool, u8)>);

    /// A [`Fixture`] owning its event name, sequence number and id.
    type OwnedFixture<'a> = (
        String,
        String,
        String,
        Option<(&'a str, u32)>,
        Option<(&'a str, u32)>,
    );

    proptest::proptest! {
        /// Whatever the writes and wherever Lambda redelivers from, the
        /// totals equal what the source table holds at the end.
        #[test]
        fn totals_match_the_source_despite_redelivery(
            writes in proptest::collection::vec((0u8..6, proptest::option::of((proptest::bool::ANY, 0u8..50))), 1..40),
            replays in proptest::collection::vec(0usize..40, 0..5),
        ) {
            let writes: Vec<Write> = writes;
            let tenant = |second: bool| if second { "globex" } else { "acme" };
            // Turn the writes into stream records against a model table.
            let mut table: BTreeMap<u8, (&str, u32)> = BTreeMap::new();
            let mut records: Vec<OwnedFixture<'_>> = Vec::new();
            for (index, (id, write)) in writes.iter().enumerate() {
                let old = table.get(id).copied();
                let new = write.map(|(t, pages)| (tenant(t), u32::from(pages)));
                let name = match (old, new) {
                    (None, None) => continue,
                    (None, Some(_)) => "INSERT",
                    (Some(_), Some(_)) => "MODIFY",
                    (Some(_), None) => "REMOVE",
                };
                match new {
                    Some(document) => table.insert(*id, document),
                    None => table.remove(id),
                };
                records.push((name.to_owned(), format!("{}", 1000 + index), format!("d{id}"), old, new));
            }
            proptest::prop_assume!(!records.is_empty());
            let fixtures: Vec<Fixture<'_>> = records
                .iter()
                .map(|(name, seq, id, old, new)| (name.as_str(), seq.as_str(), id.as_str(), *old, *new))
                .collect();
            let input = batch(&fixtures);
            let store = MemoryStore::default();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let events: Vec<_> = decode_event(input.as_bytes()).unwrap().into_iter().map(|r| r.unwrap()).collect();
            // Each replay delivers the batch up to a point, then Lambda
            // starts over from the beginning (at-least-once); the last
            // delivery runs to the end.
            for stop in replays.iter().map(|r| r % events.len()).chain([events.len()]) {
                for event in events.iter().take(stop) {
                    runtime.block_on(handle_change(&store, event.clone())).unwrap();
                }
            }
            let mut expected: BTreeMap<String, (i64, i64)> = BTreeMap::new();
            for (tenant, pages) in table.values() {
                let total = expected.entry((*tenant).to_owned()).or_default();
                total.0 += 1;
                total.1 += i64::from(*pages);
            }
            let actual: BTreeMap<String, (i64, i64)> = store
                .totals
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, total)| **total != (0, 0))
                .map(|(tenant, total)| (tenant.clone(), *total))
                .collect();
            proptest::prop_assert_eq!(actual, expected);
        }
    }
}
