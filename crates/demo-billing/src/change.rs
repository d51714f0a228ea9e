//! From one stream record to the change it makes to the totals: pure, no IO.

use serde::Deserialize;
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

/// How much one tenant's totals move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDelta {
    /// The tenant.
    pub tenant: String,
    /// Change in the number of documents (-1, 0 or 1).
    pub documents: i64,
    /// Change in the number of pages.
    pub pages: i64,
}

/// What one record does to `tenant-usage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageChange {
    /// The source item's marker key: its stream ARN and keys.
    pub marker_key: String,
    /// The record's sequence number, zero-padded so that string order is
    /// numeric order.
    pub sequence: String,
    /// The non-zero deltas, at most two (a document that changed tenant).
    pub deltas: Vec<TenantDelta>,
}

/// Why a record cannot be turned into a change.
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
    #[error("record {sequence}: {source}")]
    BadImage {
        /// The record's sequence number.
        sequence: String,
        /// What is wrong with it, with its path.
        source: ImageError,
    },
    /// A page count does not fit the totals' arithmetic.
    #[error("record {sequence}: page count {pages} is too large")]
    PagesTooLarge {
        /// The record's sequence number.
        sequence: String,
        /// The offending count.
        pages: u64,
    },
}

/// Plans the change one record makes; `None` when it changes no total (a
/// status update, say).
pub fn plan_change(event: &ChangeEvent<'_>) -> Result<Option<UsageChange>, ChangeError> {
    let sequence = event.sequence_number.to_string();
    let source = event.source.as_ref().ok_or_else(|| ChangeError::NoSource {
        sequence: sequence.clone(),
    })?;
    let padded = pad_sequence(&sequence)?;
    let event_name = event.kind().event_name();
    let image = |which: Result<Option<Document>, ImageError>, name: &'static str, needed: bool| {
        let document = which.map_err(|source| ChangeError::BadImage {
            sequence: sequence.clone(),
            source,
        })?;
        match document {
            None if needed => Err(ChangeError::MissingImage {
                sequence: sequence.clone(),
                event: event_name,
                image: name,
            }),
            other => Ok(other),
        }
    };
    let (old, new) = match &event.change {
        Change::Insert { .. } => (None, image(event.new_image(), "NewImage", true)?),
        Change::Modify { .. } => (
            image(event.old_image(), "OldImage", true)?,
            image(event.new_image(), "NewImage", true)?,
        ),
        Change::Remove { .. } => (image(event.old_image(), "OldImage", true)?, None),
    };
    let mut deltas: Vec<TenantDelta> = Vec::new();
    for (document, sign) in [(old, -1i64), (new, 1i64)] {
        let Some(document) = document else { continue };
        let pages = i64::try_from(document.pages).map_err(|_| ChangeError::PagesTooLarge {
            sequence: sequence.clone(),
            pages: document.pages,
        })?;
        match deltas.iter_mut().find(|d| d.tenant == document.tenant) {
            Some(delta) => {
                delta.documents += sign;
                delta.pages += sign * pages;
            }
            None => deltas.push(TenantDelta {
                tenant: document.tenant,
                documents: sign,
                pages: sign * pages,
            }),
        }
    }
    deltas.retain(|d| d.documents != 0 || d.pages != 0);
    if deltas.is_empty() {
        return Ok(None);
    }
    Ok(Some(UsageChange {
        marker_key: format!("doc#{source}#{}", event.keys),
        sequence: padded,
        deltas,
    }))
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
            Ok(Some(change)) => format!(
                "{} {}\n{}",
                change.marker_key,
                change.sequence,
                change
                    .deltas
                    .iter()
                    .map(|d| format!(
                        "{} documents {:+} pages {:+}",
                        d.tenant, d.documents, d.pages
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            Ok(None) => "no effect".to_owned(),
            Err(e) => format!("error: {e}"),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn insert_adds_a_document_and_its_pages() {
        check(
            &record("INSERT", "111", None, Some(&doc("acme", 12))),
            expect![[r#"
                doc#arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"doc-1"}} 0000000000000000000000000000000000000111
                acme documents +1 pages +12"#]],
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
                doc#arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"doc-1"}} 0000000000000000000000000000000000000112
                acme documents +0 pages -7"#]],
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
                doc#arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"doc-1"}} 0000000000000000000000000000000000000114
                acme documents -1 pages -3
                globex documents +1 pages +4"#]],
        );
    }

    #[test]
    fn remove_subtracts_the_document() {
        check(
            &record("REMOVE", "115", Some(&doc("acme", 12)), None),
            expect![[r#"
                doc#arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#{"id":{"S":"doc-1"}} 0000000000000000000000000000000000000115
                acme documents -1 pages -12"#]],
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
    fn image_that_is_not_a_document_is_refused() {
        check(
            &record(
                "INSERT",
                "117",
                None,
                Some(r#"{"id": {"S": "doc-1"}, "tenant": {"S": "acme"}, "pages": {"S": "many"}}"#),
            ),
            expect![[r#"error: record 117: at pages: invalid type: string "many", expected u64"#]],
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
