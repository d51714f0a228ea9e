//! Conversions from the DynamoDB event types of `aws_lambda_events` (feature
//! `lambda-events`), for handlers that already received those types.
//!
//! `aws_lambda_events` cannot tell an absent image from an empty one (both
//! are an empty map); the conversion treats an empty image as absent unless
//! the record's stream view type says the image is carried.

use std::borrow::Cow;
use std::time::SystemTime;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use serde_dynamo::AttributeValue as DynamoValue;

use crate::de::ImageError;
use crate::event::{ChangeEvent, ChangeKind, RecordParts, StreamViewType, UserIdentity};
use crate::foreign::{invalid, item_from, list_from, number_set_from};
use crate::number::Number;
use crate::value::{AttributeValue, BinarySet, Item, StringSet};

/// Converts every record of an `aws_lambda_events` DynamoDB event, one
/// result per record.
pub fn from_lambda_event(
    event: Event,
) -> Vec<Result<ChangeEvent<'static, Item>, crate::RecordError>> {
    event
        .records
        .into_iter()
        .enumerate()
        .map(|(index, record)| from_lambda_record(record, index))
        .collect()
}

/// Converts one `aws_lambda_events` record; `index` is its position in the
/// batch, for error messages.
pub fn from_lambda_record(
    record: EventRecord,
    index: usize,
) -> Result<ChangeEvent<'static, Item>, crate::RecordError> {
    let mut parts = RecordParts::<Item>::default();
    parts.event_id = Some(Cow::Owned(record.event_id));
    parts.set_event_name(&record.event_name);
    parts.event_version = record.event_version.map(Cow::Owned);
    parts.region = Some(record.aws_region)
        .filter(|r| !r.is_empty())
        .map(Cow::Owned);
    if let Some(arn) = record.event_source_arn {
        parts.set_source(&arn);
    }
    parts.user_identity = record.user_identity.map(|u| UserIdentity {
        kind: u.type_,
        principal_id: u.principal_id,
    });
    let change = record.change;
    parts.has_stream_record = true;
    parts.sequence_number = change.sequence_number.map(Cow::Owned);
    parts.size_bytes = u64::try_from(change.size_bytes).ok();
    // An absent view type stays absent, as `decode_event` leaves it.
    parts.view_type = change
        .stream_view_type
        .and_then(|view| StreamViewType::parse(&view.to_string()));
    let time: SystemTime = change.approximate_creation_date_time.into();
    parts.approximate_creation_time = Some(time).filter(|t| *t != SystemTime::UNIX_EPOCH);

    let carries = |image_is_new: bool| match parts.view_type {
        Some(StreamViewType::NewAndOldImages) => true,
        Some(StreamViewType::NewImage) => image_is_new,
        Some(StreamViewType::OldImage) => !image_is_new,
        Some(StreamViewType::KeysOnly) | None => false,
    };
    let (carries_new, carries_old) = (carries(true), carries(false));
    let kind = parts.kind;
    let convert =
        |field: &str, item: serde_dynamo::Item, parts: &mut RecordParts<'_, Item>| match item_from(
            item.into_inner(),
            value_from,
        ) {
            Ok(item) => Some(item),
            Err(e) => {
                parts.image_problem(field, e);
                None
            }
        };
    parts.keys = convert("Keys", change.keys, &mut parts);
    if !change.new_image.is_empty() || (carries_new && kind != Some(ChangeKind::Remove)) {
        parts.new_image = convert("NewImage", change.new_image, &mut parts);
    }
    if !change.old_image.is_empty() || (carries_old && kind != Some(ChangeKind::Insert)) {
        parts.old_image = convert("OldImage", change.old_image, &mut parts);
    }
    parts.finish(index)
}

fn value_from(value: DynamoValue) -> Result<AttributeValue, ImageError> {
    Ok(match value {
        DynamoValue::S(s) => AttributeValue::S(s),
        DynamoValue::N(n) => AttributeValue::N(Number::new(n).map_err(invalid)?),
        DynamoValue::B(b) => AttributeValue::B(b),
        DynamoValue::Bool(b) => AttributeValue::Bool(b),
        DynamoValue::Null(_) => AttributeValue::Null,
        DynamoValue::M(m) => AttributeValue::M(item_from(m, value_from)?),
        DynamoValue::L(l) => list_from(l, value_from)?,
        DynamoValue::Ss(s) => AttributeValue::Ss(StringSet::new(s).map_err(invalid)?),
        DynamoValue::Ns(n) => number_set_from(n)?,
        DynamoValue::Bs(b) => AttributeValue::Bs(BinarySet::new(b).map_err(invalid)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    #[test]
    fn an_absent_view_type_stays_absent() {
        let json = r#"{"Records": [
          {"eventID": "1", "eventName": "INSERT", "awsRegion": "eu-west-1",
           "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "7", "SizeBytes": 4}},
          {"eventID": "2", "eventName": "INSERT", "awsRegion": "eu-west-1",
           "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "8", "SizeBytes": 4,
             "StreamViewType": "KEYS_ONLY"}}
        ]}"#;
        let event: Event = serde_json::from_str(json).unwrap();
        let converted: Vec<_> = from_lambda_event(event)
            .into_iter()
            .map(|r| r.unwrap().view_type)
            .collect();
        // The JSON decoder reads the same event the same way.
        let decoded: Vec<_> = crate::decode_event(json.as_bytes())
            .unwrap()
            .into_iter()
            .map(|r| r.unwrap().view_type)
            .collect();
        assert_eq!(converted, [None, Some(StreamViewType::KeysOnly)]);
        assert_eq!(converted, decoded);
    }

    /// Parses `json` with aws_lambda_events, converts, and prints one line
    /// per record.
    fn check(json: &str, expected: Expect) {
        let event: Event = serde_json::from_str(json).unwrap();
        let shown = from_lambda_event(event)
            .iter()
            .map(|r| match r {
                Ok(e) => e.to_json().to_string(),
                Err(e) => format!("error: {e}"),
            })
            .collect::<Vec<_>>()
            .join("\n");
        expected.assert_eq(&shown);
    }

    #[test]
    fn converts_like_the_json_decoder() {
        let json = r#"{"Records": [
          {"eventID": "1", "eventName": "MODIFY", "awsRegion": "eu-west-1",
           "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
           "dynamodb": {"ApproximateCreationDateTime": 1714564800, "Keys": {"id": {"S": "a"}},
             "OldImage": {"id": {"S": "a"}, "n": {"N": "1"}}, "NewImage": {"id": {"S": "a"}, "n": {"N": "2.50"}, "s": {"SS": ["x"]}},
             "SequenceNumber": "7", "SizeBytes": 40, "StreamViewType": "NEW_AND_OLD_IMAGES"}},
          {"eventID": "2", "eventName": "INSERT", "awsRegion": "eu-west-1",
           "dynamodb": {"Keys": {"id": {"S": "b"}}, "NewImage": {"n": {"N": "1e200"}},
             "SequenceNumber": "8", "SizeBytes": 40, "StreamViewType": "NEW_IMAGE"}},
          {"eventID": "3", "eventName": "REMOVE", "awsRegion": "eu-west-1",
           "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
           "dynamodb": {"Keys": {"id": {"S": "c"}}, "SequenceNumber": "9", "SizeBytes": 4, "StreamViewType": "KEYS_ONLY"}}
        ]}"#;
        check(
            json,
            expect![[r#"
                {"eventID":"1","eventName":"MODIFY","keys":{"id":{"S":"a"}},"newImage":{"id":{"S":"a"},"n":{"N":"2.50"},"s":{"SS":["x"]}},"oldImage":{"id":{"S":"a"},"n":{"N":"1"}},"sequenceNumber":"7"}
                error: record 1 (event id 2, sequence number 8): dynamodb.NewImage.n: "1e200" is out of DynamoDB's range (magnitude 1E-130 to 9.99E+125)
                {"eventID":"3","eventName":"REMOVE","keys":{"id":{"S":"c"}},"sequenceNumber":"9","ttlDelete":true}"#]],
        );
    }
}
