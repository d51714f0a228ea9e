//! Conversions from the GetRecords output of `aws-sdk-dynamodbstreams`
//! (feature `sdk`), for readers that poll a stream directly.
//!
//! The SDK keeps absent and empty images apart (`None` vs an empty map), so
//! the conversion is exact. GetRecords records carry no source ARN; pass the
//! stream's ARN to [`from_sdk_records`] to fill it in.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_dynamodbstreams::types::{AttributeValue as SdkValue, Record};
use streamgate_policy::arn::StreamArn;

use crate::de::ImageError;
use crate::event::{ChangeEvent, RecordParts, RecordProblem, StreamViewType, UserIdentity};
use crate::foreign::{invalid, item_from, list_from, number_set_from};
use crate::number::Number;
use crate::value::{AttributeValue, BinarySet, Item, StringSet};

/// Converts the records of one GetRecords response, one result per record;
/// `source` is the stream they were read from.
pub fn from_sdk_records(
    records: Vec<Record>,
    source: Option<Arc<StreamArn>>,
) -> Vec<Result<ChangeEvent<'static, Item>, crate::RecordError>> {
    records
        .into_iter()
        .enumerate()
        .map(|(index, record)| {
            let mut event = from_sdk_record(record, index)?;
            event.source.clone_from(&source);
            Ok(event)
        })
        .collect()
}

/// Converts one GetRecords record; `index` is its position in the response,
/// for error messages.
pub fn from_sdk_record(
    record: Record,
    index: usize,
) -> Result<ChangeEvent<'static, Item>, crate::RecordError> {
    let mut parts = RecordParts::<Item>::default();
    parts.event_id = record.event_id.map(Cow::Owned);
    if let Some(name) = &record.event_name {
        parts.set_event_name(name.as_str());
    }
    parts.event_version = record.event_version.map(Cow::Owned);
    parts.region = record.aws_region.map(Cow::Owned);
    parts.user_identity = record.user_identity.map(|u| UserIdentity {
        kind: u.r#type.unwrap_or_default(),
        principal_id: u.principal_id.unwrap_or_default(),
    });
    if let Some(change) = record.dynamodb {
        parts.has_stream_record = true;
        parts.sequence_number = change.sequence_number.map(Cow::Owned);
        parts.size_bytes = change.size_bytes.and_then(|n| u64::try_from(n).ok());
        if let Some(view) = &change.stream_view_type {
            parts.view_type = StreamViewType::parse(view.as_str());
            if parts.view_type.is_none() {
                parts.problem(
                    "dynamodb.StreamViewType".to_owned(),
                    RecordProblem::Invalid(format!("unknown stream view type {:?}", view.as_str())),
                );
            }
        }
        parts.approximate_creation_time = change
            .approximate_creation_date_time
            .and_then(|t| SystemTime::try_from(t).ok());
        let images = [
            ("Keys", change.keys),
            ("NewImage", change.new_image),
            ("OldImage", change.old_image),
        ];
        for (field, image) in images {
            let Some(image) = image else { continue };
            match item_from(image, value_from) {
                Ok(item) => match field {
                    "Keys" => parts.keys = Some(item),
                    "NewImage" => parts.new_image = Some(item),
                    _ => parts.old_image = Some(item),
                },
                Err(e) => parts.image_problem(field, e),
            }
        }
    }
    parts.finish(index)
}

fn value_from(value: SdkValue) -> Result<AttributeValue, ImageError> {
    Ok(match value {
        SdkValue::S(s) => AttributeValue::S(s),
        SdkValue::N(n) => AttributeValue::N(Number::new(n).map_err(invalid)?),
        SdkValue::B(b) => AttributeValue::B(b.into_inner()),
        SdkValue::Bool(b) => AttributeValue::Bool(b),
        SdkValue::Null(_) => AttributeValue::Null,
        SdkValue::M(m) => AttributeValue::M(item_from(m, value_from)?),
        SdkValue::L(l) => list_from(l, value_from)?,
        SdkValue::Ss(s) => AttributeValue::Ss(StringSet::new(s).map_err(invalid)?),
        SdkValue::Ns(n) => number_set_from(n)?,
        SdkValue::Bs(b) => {
            let blobs = b.into_iter().map(|b| b.into_inner()).collect();
            AttributeValue::Bs(BinarySet::new(blobs).map_err(invalid)?)
        }
        _ => {
            return Err(invalid(
                "attribute value of a type this version does not know",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::types::{Identity, OperationType, StreamRecord};
    use expect_test::{Expect, expect};
    use std::collections::HashMap;

    fn check(records: Vec<Record>, expected: Expect) {
        let shown = from_sdk_records(records, None)
            .iter()
            .map(|r| match r {
                Ok(e) => e.to_json().to_string(),
                Err(e) => format!("error: {e}"),
            })
            .collect::<Vec<_>>()
            .join("\n");
        expected.assert_eq(&shown);
    }

    fn key(id: &str) -> HashMap<String, SdkValue> {
        HashMap::from([("id".to_owned(), SdkValue::S(id.to_owned()))])
    }

    #[test]
    fn converts_sdk_records() {
        let insert = Record::builder()
            .event_id("1")
            .event_name(OperationType::Insert)
            .dynamodb(
                StreamRecord::builder()
                    .set_keys(Some(key("a")))
                    .set_new_image(Some(HashMap::from([
                        ("n".to_owned(), SdkValue::N("0.10".to_owned())),
                        (
                            "b".to_owned(),
                            SdkValue::Bs(vec![vec![1u8].into(), vec![2u8].into()]),
                        ),
                    ])))
                    .sequence_number("100")
                    .build(),
            )
            .build();
        let bad = Record::builder()
            .event_id("2")
            .event_name(OperationType::Modify)
            .dynamodb(
                StreamRecord::builder()
                    .set_keys(Some(key("b")))
                    .set_new_image(Some(HashMap::from([(
                        "l".to_owned(),
                        SdkValue::L(vec![SdkValue::Ss(vec![])]),
                    )])))
                    .sequence_number("101")
                    .build(),
            )
            .build();
        let ttl = Record::builder()
            .event_id("3")
            .event_name(OperationType::Remove)
            .user_identity(
                Identity::builder()
                    .r#type("Service")
                    .principal_id("dynamodb.amazonaws.com")
                    .build(),
            )
            .dynamodb(
                StreamRecord::builder()
                    .set_keys(Some(key("c")))
                    .set_old_image(Some(HashMap::new()))
                    .sequence_number("102")
                    .build(),
            )
            .build();
        check(
            vec![insert, bad, ttl],
            expect![[r#"
                {"eventID":"1","eventName":"INSERT","keys":{"id":{"S":"a"}},"newImage":{"b":{"BS":["AQ==","Ag=="]},"n":{"N":"0.10"}},"sequenceNumber":"100"}
                error: record 1 (event id 2, sequence number 101): dynamodb.NewImage.l[0]: a SS set must not be empty
                {"eventID":"3","eventName":"REMOVE","keys":{"id":{"S":"c"}},"oldImage":{},"sequenceNumber":"102","ttlDelete":true}"#]],
        );
    }
}
