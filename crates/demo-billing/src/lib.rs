//! The demo function of streamgate: tenants in accounts B and C write one
//! item per processed document (tenant, document id, pages, status) to their
//! own `documents` table; this function, in account A, reads their streams
//! and keeps per-tenant totals (documents, pages) in its `tenant-usage`
//! table.
//!
//! A tenant is a name *within a source account*: its totals item is
//! `pk` = `tenant#` + account + `#` + tenant ([`total_key`]), the account
//! taken from the record's stream ARN, never from the document. One
//! account cannot write to another's tenants, and the same name in two
//! accounts is two tenants.
//!
//! Exactly once in effect despite at-least-once delivery: every change
//! becomes one TransactWriteItems of
//! - an update of the document's marker item (`pk` = `doc#` + the hex
//!   SHA-256 of the stream ARN and the item's keys, [`marker_key`], so it
//!   stays under DynamoDB's 2,048-byte key limit; the readable form is kept
//!   in its `source_item` attribute) setting `last_sequence` to the
//!   record's sequence number, on condition that the marker has none or a
//!   smaller one, and
//! - `ADD documents :d, pages :p` on each affected tenant's total.
//!
//! Both happen or neither does, so a crash between steps cannot count a
//! change twice or lose it; a redelivered record fails the condition and is
//! acknowledged without effect ([`Applied::AlreadyApplied`]). Per-key order
//! is the stream's guarantee; markers are per key, so keys processed out of
//! order relative to each other do not interfere. The deltas come from the
//! record's old and new images, so the source table must stream
//! `NEW_AND_OLD_IMAGES`.
//!
//! Bad input never blocks a shard: an image that is not a valid document
//! (no `tenant`, no whole non-negative `pages`) counts as no document and
//! is logged; a record that can never be applied (no source, a bad
//! sequence number, a missing image, a write DynamoDB refuses as invalid)
//! is logged with its event id, sequence number and source and
//! acknowledged as [`Applied::Skipped`]. Only transient failures are
//! reported back to Lambda for a retry.
//!
//! # Requirement: sources start empty, or are backfilled
//! The totals are the sum of the changes the function has seen. A
//! document that was already in a source table when its mapping started
//! (or whose INSERT aged out of the 24-hour stream before it was read) was
//! never counted: it is missing from the totals, and a later update or
//! delete of it moves them by its delta alone (a delete can take a total
//! below zero). Subscribe a source before it holds documents, or backfill
//! its totals from a scan when subscribing. The function does not try to
//! guess: skipping changes of unmarked documents would hide the problem for
//! the documents that are touched and still leave the untouched ones out.
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

pub use change::{
    ChangeError, Document, MARKER_KEY_PREFIX, PlannedChange, TOTAL_KEY_PREFIX, TenantDelta,
    UsageChange, marker_key, plan_change, total_key,
};
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
    Change(#[from] ChangeError),
    /// Writing the change failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BillingError {
    /// Whether retrying the record cannot succeed: an unusable record, or a
    /// write the service refused as invalid. Anything else (throttling, a
    /// network failure, a missing table) may pass on a retry.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Change(_) => true,
            Self::Store(error) => error.is_permanent(),
        }
    }
}

/// Applies one stream record to the usage totals: plans it, then writes it
/// through `store` unless it changes no total.
///
/// Only transient failures are errors, for the caller to report so that
/// Lambda retries the record. A permanent one ([`BillingError::is_permanent`])
/// is logged with the record's event id, sequence number and source and
/// returns [`Applied::Skipped`]: retrying it would only block the shard
/// until the mapping gives up and drops the valid records behind it.
/// Images that are not valid documents count as no document (see
/// [`plan_change`]) and are logged too.
pub async fn handle_change<S: UsageStore>(
    store: &S,
    event: ChangeEvent<'_>,
) -> Result<Applied, BillingError> {
    match apply_change(store, &event).await {
        Ok(applied) => Ok(applied),
        Err(error) if error.is_permanent() => {
            tracing::error!(
                event_id = %event.event_id,
                sequence = %event.sequence_number,
                source = %source_of(&event),
                outcome = ?Applied::Skipped,
                error = %error,
                "record skipped: it can never be applied"
            );
            Ok(Applied::Skipped)
        }
        Err(error) => Err(error),
    }
}

async fn apply_change<S: UsageStore>(
    store: &S,
    event: &ChangeEvent<'_>,
) -> Result<Applied, BillingError> {
    let planned = plan_change(event)?;
    for problem in &planned.ignored {
        tracing::warn!(
            event_id = %event.event_id,
            sequence = %event.sequence_number,
            source = %source_of(event),
            problem = %problem,
            "image counted as no document"
        );
    }
    let Some(change) = planned.change else {
        tracing::info!(
            sequence = %event.sequence_number,
            source = %source_of(event),
            outcome = ?Applied::NoEffect,
            "no total changes"
        );
        return Ok(Applied::NoEffect);
    };
    let applied = store.apply(&change).await?;
    tracing::info!(
        sequence = %event.sequence_number,
        source = %source_of(event),
        marker = %change.marker_key,
        outcome = ?applied,
        "change applied"
    );
    Ok(applied)
}

fn source_of(event: &ChangeEvent<'_>) -> String {
    event
        .source
        .as_ref()
        .map_or_else(|| "(no eventSourceARN)".to_owned(), ToString::to_string)
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
        /// The sequence number (unpadded) whose write the service refuses
        /// as invalid.
        invalid_marker: Option<String>,
    }

    impl UsageStore for MemoryStore {
        async fn apply(&self, change: &UsageChange) -> Result<Applied, StoreError> {
            if self.fail_marker.as_deref() == Some(change.sequence.trim_start_matches('0')) {
                return Err(StoreError::Injected {
                    marker_key: change.marker_key.clone(),
                });
            }
            if self.invalid_marker.as_deref() == Some(change.sequence.trim_start_matches('0')) {
                return Err(StoreError::Invalid {
                    table: "memory".to_owned(),
                    marker_key: change.marker_key.clone(),
                    message: "refused".to_owned(),
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
                let total = totals.entry(delta.total_key()).or_default();
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
        check_batches(store, &[input], deliveries, expected);
    }

    /// [`check`] of several batches, delivered in turn.
    fn check_batches(store: MemoryStore, inputs: &[&str], deliveries: usize, expected: Expect) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut outcomes = Vec::new();
        for _ in 0..deliveries {
            outcomes.clear();
            for record in inputs
                .iter()
                .flat_map(|input| decode_event(input.as_bytes()).unwrap())
            {
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
                tenant#222222222222#acme: 1 documents, 12 pages
                tenant#222222222222#globex: 1 documents, 7 pages"#]],
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
                tenant#222222222222#acme: 1 documents, 12 pages
                tenant#222222222222#globex: 1 documents, 7 pages"#]],
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
                103: error: injected failure for doc#eef6d92b4c9bfc9c86db80a3b69da14b426827d59077ef9dfb5a9af0a484e563
                104: Applied
                105: NoEffect
                --
                tenant#222222222222#acme: 1 documents, 10 pages
                tenant#222222222222#globex: 1 documents, 7 pages"#]],
        );
    }

    #[test]
    fn an_invalid_document_between_valid_ones_bills_nothing_and_blocks_nothing() {
        let input = batch(&[
            ("INSERT", "100", "a", None, Some(("acme", 10))),
            ("INSERT", "101", "b", None, Some(("acme", 3))),
            ("INSERT", "102", "c", None, Some(("acme", 5))),
        ])
        .replace(r#""pages": {"N": "3"}"#, r#""pages": {"S": "three"}"#);
        check(
            MemoryStore::default(),
            &input,
            1,
            expect![[r#"
                100: Applied
                101: NoEffect
                102: Applied
                --
                tenant#222222222222#acme: 2 documents, 15 pages"#]],
        );
    }

    #[test]
    fn a_record_that_can_never_apply_is_skipped_and_the_rest_applied() {
        // A REMOVE without its old image (a stream of the wrong view
        // type), and a write the service refuses as invalid.
        let input = batch(&[
            ("INSERT", "100", "a", None, Some(("acme", 10))),
            ("REMOVE", "101", "b", None, None),
            ("INSERT", "102", "c", None, Some(("acme", 5))),
            ("INSERT", "103", "d", None, Some(("acme", 1))),
        ]);
        let store = MemoryStore {
            invalid_marker: Some("102".to_owned()),
            ..MemoryStore::default()
        };
        check(
            store,
            &input,
            1,
            expect![[r#"
            100: Applied
            101: Skipped
            102: Skipped
            103: Applied
            --
            tenant#222222222222#acme: 2 documents, 11 pages"#]],
        );
    }

    #[test]
    fn the_same_tenant_name_in_two_accounts_is_two_tenants() {
        let b = batch(&[("INSERT", "100", "a", None, Some(("acme", 10)))]);
        let c = batch(&[
            ("INSERT", "200", "a", None, Some(("acme", 4))),
            ("INSERT", "201", "b", None, Some(("acme", 1))),
        ])
        .replace("222222222222", "333333333333");
        check_batches(
            MemoryStore::default(),
            &[&b, &c],
            1,
            expect![[r#"
            100: Applied
            200: Applied
            201: Applied
            --
            tenant#222222222222#acme: 1 documents, 10 pages
            tenant#333333333333#acme: 2 documents, 5 pages"#]],
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
                let total = expected.entry(total_key("222222222222", tenant)).or_default();
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
