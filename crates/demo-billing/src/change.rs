//! From one stream record to the change it makes to the totals: pure, no IO.
//!
//! A document counts when its image decodes as a [`Document`] whose page
//! count fits the totals' arithmetic; an image that does not (no `tenant`,
//! no or a non-numeric `pages`, ...) is a document that bills nothing. The
//! rule applies to both images of a record, so a document that turns
//! invalid leaves the totals and one that turns valid enters them, and the
//! totals always equal the sum over the source table's valid documents.
//! The refused images are returned as problems for the log, never as an
//! error: retrying cannot make them valid.

use std::fmt::Write as _;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use streamgate_records::{Change, ChangeEvent, ImageError};

/// Sequence numbers are decimal strings of up to this many digits; padded to
/// it, they compare as strings in the order they compare as numbers.
const SEQUENCE_WIDTH: usize = 40;

/// One item of a tenant's `documents` table, as far as billing cares.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Document {
    /// The tenant the document belongs to.
    pub tenant: String,
    /// How many pages it has.
    pub pages: u64,
}

/// How much one tenant's totals move. A tenant is named within the account
/// whose stream the record came from: the same name in two accounts is two
/// tenants, and no account can write to another's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDelta {
    /// The source account (from the record's stream ARN).
    pub account: String,
    /// The tenant, as the document names it.
    pub tenant: String,
    /// Change in the number of documents (-1, 0 or 1).
    pub documents: i64,
    /// Change in the number of pages.
    pub pages: i64,
}

impl TenantDelta {
    /// The key of this tenant's totals item in `tenant-usage`.
    pub fn total_key(&self) -> String {
        total_key(&self.account, &self.tenant)
    }
}

/// The key of the totals item of `tenant` in source `account`:
/// `tenant#ACCOUNT#TENANT` (an account id has no `#`, so the key is
/// unambiguous).
pub fn total_key(account: &str, tenant: &str) -> String {
    format!("{TOTAL_KEY_PREFIX}{account}#{tenant}")
}

/// The prefix of every totals item's key; marker keys start with
/// [`MARKER_KEY_PREFIX`] instead.
pub const TOTAL_KEY_PREFIX: &str = "tenant#";

/// The prefix of every marker item's key.
pub const MARKER_KEY_PREFIX: &str = "doc#";

/// What one record does to `tenant-usage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageChange {
    /// The source item's marker key: [`MARKER_KEY_PREFIX`] and the hex
    /// SHA-256 of [`UsageChange::source_item`], so that it stays far below
    /// DynamoDB's 2,048-byte partition key limit whatever the source keys.
    pub marker_key: String,
    /// The source item, readable: its stream ARN, `#`, and its keys as
    /// DynamoDB JSON in attribute name order (stored beside the marker).
    pub source_item: String,
    /// The record's sequence number, zero-padded so that string order is
    /// numeric order.
    pub sequence: String,
    /// The non-zero deltas, at most two (a document that changed tenant).
    pub deltas: Vec<TenantDelta>,
}

/// The marker key of a source item from its readable form (see
/// [`UsageChange::marker_key`]).
pub fn marker_key(source_item: &str) -> String {
    let mut key = String::with_capacity(MARKER_KEY_PREFIX.len() + 64);
    key.push_str(MARKER_KEY_PREFIX);
    for byte in Sha256::digest(source_item.as_bytes()) {
        // Writing to a String cannot fail.
        let _ = write!(key, "{byte:02x}");
    }
    key
}

/// What a record means for the totals: the change, if any, and the images
/// that were not billable documents (already left out of the change).
#[derive(Debug)]
pub struct PlannedChange {
    /// The change; `None` when the record moves no total.
    pub change: Option<UsageChange>,
    /// Images that are not valid documents, each counted as no document.
    pub ignored: Vec<ChangeError>,
}

/// Why a record, or one of its images, cannot be turned into a change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeError {
    /// The record carries no source stream ARN.
    #[error("record {sequence} has no eventSourceARN")]
    NoSource {
        /// The record's sequence number.
        sequence: String,
    },
    /// The sequence number is not a decimal number of at most 40 digits.
    #[error("record sequence number {sequence:?} is not a decimal number of at most 40 digits")]
    BadSequence {
        /// The offending sequence number.
        sequence: String,
    },
    /// An image the change needs is absent: the stream must carry
    /// `NEW_AND_OLD_IMAGES`.
    #[error("record {sequence} ({event}) has no {image}: the stream must carry NEW_AND_OLD_IMAGES")]
    MissingImage {
        /// The record's sequence number.
        sequence: String,
        /// INSERT, MODIFY or REMOVE.
        event: &'static str,
        /// `NewImage` or `OldImage`.
        image: &'static str,
    },
    /// An image is not a document.
    #[error("record {sequence}: {image} is not a document: {source}")]
    BadImage {
        /// The record's sequence number.
        sequence: String,
        /// `NewImage` or `OldImage`.
        image: &'static str,
        /// What is wrong with it, with its path.
        source: ImageError,
    },
    /// A page count does not fit the totals' arithmetic.
    #[error("record {sequence}: {image} has page count {pages}, too large to total")]
    PagesTooLarge {
        /// The record's sequence number.
        sequence: String,
        /// `NewImage` or `OldImage`.
        image: &'static str,
        /// The offending count.
        pages: u64,
    },
}

/// Plans the change one record makes. Refused images ([`ChangeError::BadImage`],
/// [`ChangeError::PagesTooLarge`]) count as no document and are listed in
/// [`PlannedChange::ignored`]; an error means the record as a whole is
/// unusable (no source, a bad sequence number, a missing image), which no
/// retry can change.
pub fn plan_change(event: &ChangeEvent<'_>) -> Result<PlannedChange, ChangeError> {
    let sequence = event.sequence_number.to_string();
    let source = event.source.as_ref().ok_or_else(|| ChangeError::NoSource {
        sequence: sequence.clone(),
    })?;
    let padded = pad_sequence(&sequence)?;
    let event_name = event.kind().event_name();
    let mut ignored = Vec::new();
    let mut image = |which: Result<Option<Document>, ImageError>,
                     name: &'static str|
     -> Result<Option<(String, i64)>, ChangeError> {
        let document = match which {
            Ok(Some(document)) => document,
            Ok(None) => {
                return Err(ChangeError::MissingImage {
                    sequence: sequence.clone(),
                    event: event_name,
                    image: name,
                });
            }
            Err(source) => {
                ignored.push(ChangeError::BadImage {
                    sequence: sequence.clone(),
                    image: name,
                    source,
                });
                return Ok(None);
            }
        };
        match i64::try_from(document.pages) {
            Ok(pages) => Ok(Some((document.tenant, pages))),
            Err(_) => {
                ignored.push(ChangeError::PagesTooLarge {
                    sequence: sequence.clone(),
                    image: name,
                    pages: document.pages,
                });
                Ok(None)
            }
        }
    };
    let (old, new) = match &event.change {
        Change::Insert { .. } => (None, image(event.new_image(), "NewImage")?),
        Change::Modify { .. } => (
            image(event.old_image(), "OldImage")?,
            image(event.new_image(), "NewImage")?,
        ),
        Change::Remove { .. } => (image(event.old_image(), "OldImage")?, None),
    };
    let account = source.account().as_str();
    let mut deltas: Vec<TenantDelta> = Vec::new();
    for (document, sign) in [(old, -1i64), (new, 1i64)] {
        let Some((tenant, pages)) = document else {
            continue;
        };
        // `pages` fits an i64 and `sign` is ±1; at most two documents are
        // summed, so saturation only guards a pair of extreme counts.
        let pages = pages.saturating_mul(sign);
        match deltas.iter_mut().find(|d| d.tenant == tenant) {
            Some(delta) => {
                delta.documents = delta.documents.saturating_add(sign);
                delta.pages = delta.pages.saturating_add(pages);
            }
            None => deltas.push(TenantDelta {
                account: account.to_owned(),
                tenant,
                documents: sign,
                pages,
            }),
        }
    }
    deltas.retain(|d| d.documents != 0 || d.pages != 0);
    if deltas.is_empty() {
        return Ok(PlannedChange {
            change: None,
            ignored,
        });
    }
    let source_item = format!("{source}#{}", event.keys);
    Ok(PlannedChange {
        change: Some(UsageChange {
            marker_key: marker_key(&source_item),
            source_item,
            sequence: padded,
            deltas,
        }),
        ignored,
    })
}

fn pad_sequence(sequence: &str) -> Result<String, ChangeError> {
    if sequence.is_empty()
        || sequence.len() > SEQUENCE_WIDTH
        || !sequence.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ChangeError::BadSequence {
            sequence: sequence.to_owned(),
        });
    }
    Ok(format!("{sequence:0>SEQUENCE_WIDTH$}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use streamgate_records::decode_event;

    const ARN: &str =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";

    fn record(name: &str, seq: &str, old: Option<&str>, new: Option<&str>) -> String {
        let mut images = String::new();
        if let Some(old) = old {
            images.push_str(&format!(r#""OldImage": {old},"#));
        }
        if let Some(new) = new {
            images.push_str(&format!(r#""NewImage": {new},"#));
        }
        format!(
            r#"{{"Records": [{{"eventID": "e{seq}", "eventName": "{name}", "eventSource": "aws:dynamodb",
              "awsRegion": "eu-west-1", "eventSourceARN": "{ARN}",
              "dynamodb": {{"Keys": {{"id": {{"S": "doc-1"}}}}, {images}
                "SequenceNumber": "{seq}", "SizeBytes": 26, "StreamViewType": "NEW_AND_OLD_IMAGES"}}}}]}}"#
        )
    }

    fn doc(tenant: &str, pages: u32) -> String {
        format!(
            r#"{{"id": {{"S": "doc-1"}}, "tenant": {{"S": "{tenant}"}}, "pages": {{"N": "{pages}"}}}}"#
        )
    }

    fn check(input: &str, expected: Expect) {
        let records = decode_event(input.as_bytes()).unwrap();
        let event = records.into_iter().next().unwrap().unwrap();
        let actual = match plan_change(&event) {
            Ok(planned) => {
                let mut lines: Vec<String> = planned
                    .ignored
                    .iter()
                    .map(|e| format!("ignored: {e}"))
                    .collect();
                match planned.change {
                    Some(change) => {
                        assert_eq!(change.marker_key, marker_key(&change.source_item));
                        lines.push(format!("{} {}", change.source_item, change.sequence));
                        lines.extend(change.deltas.iter().map(|d| {
                            format!(
                                "{} documents {:+} pages {:+}",
                                d.total_key(),
                                d.documents,
                                d.pages
                            )
                        }));
                    }
                    None => lines.push("no effect".to_owned()),
                }
                lines.join("\n")
            }
            Err(e) => format!("error: {e}"),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn insert_adds_a_document_and_its_pages() {
        check(
            &record("INSERT", "111", None, Some(&doc("acme", 12))),
            expect![[r#"
                arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"doc-1"}} 0000000000000000000000000000000000000111
                tenant#222222222222#acme documents +1 pages +12"#]],
        );
    }

    #[test]
    fn modify_moves_only_the_page_difference() {
        check(
            &record(
                "MODIFY",
                "112",
                Some(&doc("acme", 12)),
                Some(&doc("acme", 5)),
            ),
            expect![[r#"
                arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"doc-1"}} 0000000000000000000000000000000000000112
                tenant#222222222222#acme documents +0 pages -7"#]],
        );
    }

    #[test]
    fn modify_without_page_change_has_no_effect() {
        check(
            &record(
                "MODIFY",
                "113",
                Some(&doc("acme", 12)),
                Some(&doc("acme", 12)),
            ),
            expect!["no effect"],
        );
    }

    #[test]
    fn modify_to_another_tenant_moves_the_document() {
        check(
            &record(
                "MODIFY",
                "114",
                Some(&doc("acme", 3)),
                Some(&doc("globex", 4)),
            ),
            expect![[r#"
                arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"doc-1"}} 0000000000000000000000000000000000000114
                tenant#222222222222#acme documents -1 pages -3
                tenant#222222222222#globex documents +1 pages +4"#]],
        );
    }

    #[test]
    fn remove_subtracts_the_document() {
        check(
            &record("REMOVE", "115", Some(&doc("acme", 12)), None),
            expect![[r#"
                arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"doc-1"}} 0000000000000000000000000000000000000115
                tenant#222222222222#acme documents -1 pages -12"#]],
        );
    }

    #[test]
    fn remove_without_old_image_is_refused() {
        check(
            &record("REMOVE", "116", None, None),
            expect![
                "error: record 116 (REMOVE) has no OldImage: the stream must carry NEW_AND_OLD_IMAGES"
            ],
        );
    }

    #[test]
    fn image_that_is_not_a_document_bills_nothing() {
        check(
            &record(
                "INSERT",
                "117",
                None,
                Some(r#"{"id": {"S": "doc-1"}, "tenant": {"S": "acme"}, "pages": {"S": "many"}}"#),
            ),
            expect![[r#"
                ignored: record 117: NewImage is not a document: at pages: invalid type: string "many", expected u64
                no effect"#]],
        );
    }

    #[test]
    fn an_invalid_document_bills_nothing_and_is_reported() {
        check(
            &record(
                "INSERT",
                "118",
                None,
                Some(r#"{"id": {"S": "doc-1"}, "tenant": {"S": "acme"}}"#),
            ),
            expect![[r#"
                ignored: record 118: NewImage is not a document: at (item): missing field `pages`
                no effect"#]],
        );
    }

    #[test]
    fn a_document_turning_invalid_leaves_the_totals() {
        check(
            &record(
                "MODIFY",
                "119",
                Some(&doc("acme", 4)),
                Some(r#"{"id": {"S": "doc-1"}, "tenant": {"S": "acme"}, "pages": {"N": "-2"}}"#),
            ),
            expect![[r#"
                ignored: record 119: NewImage is not a document: at pages: "-2" does not fit exactly in u64
                arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"doc-1"}} 0000000000000000000000000000000000000119
                tenant#222222222222#acme documents -1 pages -4"#]],
        );
    }

    #[test]
    fn a_page_count_beyond_the_totals_is_an_invalid_document() {
        check(
            &record(
                "MODIFY",
                "120",
                Some(
                    r#"{"id": {"S": "doc-1"}, "tenant": {"S": "acme"}, "pages": {"N": "18446744073709551615"}}"#,
                ),
                Some(&doc("acme", 2)),
            ),
            expect![[r#"
                ignored: record 120: OldImage has page count 18446744073709551615, too large to total
                arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"doc-1"}} 0000000000000000000000000000000000000120
                tenant#222222222222#acme documents +1 pages +2"#]],
        );
    }

    #[test]
    fn a_long_source_key_makes_a_short_marker_key() {
        let long = "k".repeat(2_000);
        let input = format!(
            r#"{{"Records": [{{"eventID": "e1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
              "awsRegion": "eu-west-1", "eventSourceARN": "{ARN}",
              "dynamodb": {{"Keys": {{"pk": {{"S": "{long}"}}}},
                "NewImage": {{"pk": {{"S": "{long}"}}, "tenant": {{"S": "acme"}}, "pages": {{"N": "1"}}}},
                "SequenceNumber": "1", "StreamViewType": "NEW_AND_OLD_IMAGES"}}}}]}}"#
        );
        let event = decode_event(input.as_bytes())
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
            .unwrap();
        let change = plan_change(&event).unwrap().change.unwrap();
        assert!(change.source_item.len() > 2_048);
        assert!(change.source_item.contains(&long));
        assert_eq!(change.marker_key.len(), "doc#".len() + 64);
        assert!(change.marker_key.starts_with(MARKER_KEY_PREFIX));
        assert!(
            change.marker_key[4..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        );
        // The same item in another stream has another marker.
        let other = input.replace("222222222222", "333333333333");
        let other = decode_event(other.as_bytes())
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
            .unwrap();
        assert_ne!(
            plan_change(&other).unwrap().change.unwrap().marker_key,
            change.marker_key
        );
    }

    #[test]
    fn sequence_numbers_pad_to_numeric_order() {
        let short = pad_sequence("99").unwrap();
        let long = pad_sequence("100").unwrap();
        assert!(short < long);
        assert!(pad_sequence("12a").is_err());
        assert!(pad_sequence(&"1".repeat(41)).is_err());
    }
}
