//! Change events and the batch decoder.
//!
//! A Lambda event for a DynamoDB stream (and a GetRecords response, which has
//! the same `Records` array) decodes into one `Result` per record: a bad
//! record never stops the others from decoding, and its error names the
//! record's event id, sequence number and the field at fault. (A stream
//! consumer still stops handling at the first bad record: see the crate
//! docs.)
//!
//! The decoder walks the input once. Images are either kept as borrowed raw
//! JSON ([`decode_event`], decoded later with [`ChangeEvent::new_image`]) or
//! deserialized into the user's type as the walk reaches them
//! ([`decode_event_as`]), with no intermediate tree.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use streamgate_policy::arn::{ArnError, StreamArn};

use crate::de::{AttributePath, ImageError, TextCapture, Trail, drain_map, drain_seq};
use crate::value::{Item, ItemSeed};

/// What a record did to its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// `INSERT`: a new item was written.
    Insert,
    /// `MODIFY`: an existing item was overwritten or updated.
    Modify,
    /// `REMOVE`: an item was deleted (by a client or by TTL).
    Remove,
}

impl ChangeKind {
    /// The event name as DynamoDB writes it: `INSERT`, `MODIFY` or `REMOVE`.
    pub fn event_name(self) -> &'static str {
        match self {
            Self::Insert => "INSERT",
            Self::Modify => "MODIFY",
            Self::Remove => "REMOVE",
        }
    }
}

/// The change with the images the stream view type carries. `None` means
/// the record has no such image (e.g. a `KEYS_ONLY` stream); an image that is
/// present but has no attributes is `Some` of an empty item.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<I> {
    /// A new item.
    Insert {
        /// The item as written (`NEW_IMAGE`, `NEW_AND_OLD_IMAGES`).
        new_image: Option<I>,
    },
    /// An item changed.
    Modify {
        /// The item before (`OLD_IMAGE`, `NEW_AND_OLD_IMAGES`).
        old_image: Option<I>,
        /// The item after (`NEW_IMAGE`, `NEW_AND_OLD_IMAGES`).
        new_image: Option<I>,
    },
    /// An item was deleted.
    Remove {
        /// The item as it was (`OLD_IMAGE`, `NEW_AND_OLD_IMAGES`).
        old_image: Option<I>,
    },
}

impl<I> Change<I> {
    /// Insert, modify or remove.
    pub fn kind(&self) -> ChangeKind {
        match self {
            Self::Insert { .. } => ChangeKind::Insert,
            Self::Modify { .. } => ChangeKind::Modify,
            Self::Remove { .. } => ChangeKind::Remove,
        }
    }
    /// The image after the change, if the record carries one.
    pub fn new_image(&self) -> Option<&I> {
        match self {
            Self::Insert { new_image } | Self::Modify { new_image, .. } => new_image.as_ref(),
            Self::Remove { .. } => None,
        }
    }
    /// The image before the change, if the record carries one.
    pub fn old_image(&self) -> Option<&I> {
        match self {
            Self::Modify { old_image, .. } | Self::Remove { old_image } => old_image.as_ref(),
            Self::Insert { .. } => None,
        }
    }
}

/// What a stream writes into each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamViewType {
    /// Only the key attributes.
    KeysOnly,
    /// The item after the change.
    NewImage,
    /// The item before the change.
    OldImage,
    /// Both.
    NewAndOldImages,
}

impl StreamViewType {
    /// The name as DynamoDB writes it, e.g. `NEW_AND_OLD_IMAGES`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeysOnly => "KEYS_ONLY",
            Self::NewImage => "NEW_IMAGE",
            Self::OldImage => "OLD_IMAGE",
            Self::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "KEYS_ONLY" => Self::KeysOnly,
            "NEW_IMAGE" => Self::NewImage,
            "OLD_IMAGE" => Self::OldImage,
            "NEW_AND_OLD_IMAGES" => Self::NewAndOldImages,
            _ => return None,
        })
    }
}

/// Who made the change, when it was not a client: DynamoDB itself for TTL
/// deletions. Only the decoders make one (it may gain fields).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserIdentity {
    /// `type` (`Type` in a GetRecords response), e.g. `Service`.
    pub kind: String,
    /// `principalId` (`PrincipalId` in a GetRecords response), e.g.
    /// `dynamodb.amazonaws.com`.
    pub principal_id: String,
}

/// An image kept as the raw DynamoDB JSON it arrived as, borrowed from the
/// input; decode it with [`ChangeEvent::new_image`] or [`RawImage::item`].
#[derive(Debug, Clone, Copy)]
pub struct RawImage<'a>(&'a str);

impl<'a> RawImage<'a> {
    /// An image from the exact text of one well-formed JSON value (the
    /// decoders have checked it), without leading or trailing whitespace.
    pub(crate) fn from_checked_json(text: &'a str) -> Self {
        Self(text)
    }
    /// The JSON text of the image.
    pub fn json(&self) -> &'a str {
        self.0
    }
    /// Deserializes the image into `T`.
    pub fn to<T: de::Deserialize<'a>>(&self) -> Result<T, ImageError> {
        let trail = Trail::default();
        crate::fast::from_item_text(self.0, &trail).map_err(|e| ImageError {
            path: trail.take(),
            message: e.to_string(),
        })
    }
    /// The image as an untyped [`Item`].
    pub fn item(&self) -> Result<Item, ImageError> {
        let trail = Trail::default();
        let mut deserializer = serde_json::Deserializer::from_str(self.0);
        ItemSeed { trail: &trail }
            .deserialize(&mut deserializer)
            .map_err(|e| ImageError {
                path: trail.take(),
                message: e.to_string(),
            })
    }
}

/// One stream record, decoded: what changed, the keys, and where and when.
///
/// `I` is how images are held: [`RawImage`] (borrowed JSON, decoded on
/// demand) from [`decode_event`], or the user's own type from
/// [`decode_event_as`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChangeEvent<'a, I = RawImage<'a>> {
    /// `eventID`: unique per record.
    pub event_id: Cow<'a, str>,
    /// The change and its images.
    pub change: Change<I>,
    /// `dynamodb.Keys`: the key attributes of the item.
    pub keys: Item,
    /// `dynamodb.SequenceNumber`: the record's position in its shard; what a
    /// partial batch response reports.
    pub sequence_number: Cow<'a, str>,
    /// `dynamodb.ApproximateCreationDateTime`.
    pub approximate_creation_time: Option<SystemTime>,
    /// `dynamodb.SizeBytes`.
    pub size_bytes: Option<u64>,
    /// `dynamodb.StreamViewType`.
    pub view_type: Option<StreamViewType>,
    /// The stream the record came from, shared by the records of a batch:
    /// a Lambda event's `eventSourceARN`, or the stream that
    /// `from_sdk_records` (feature `sdk`) was given (the consumer's direct
    /// reader passes the stream it reads). `None` when the input names no
    /// stream, as a GetRecords response decoded from its JSON does not.
    pub source: Option<Arc<StreamArn>>,
    /// `awsRegion`.
    pub region: Option<Cow<'a, str>>,
    /// `eventVersion`, e.g. `1.1`.
    pub event_version: Option<Cow<'a, str>>,
    /// `userIdentity`, present for TTL deletions; read from a Lambda event
    /// (`type`, `principalId`) and from a GetRecords response (`Type`,
    /// `PrincipalId`) alike.
    pub user_identity: Option<UserIdentity>,
}

impl<'a, I> ChangeEvent<'a, I> {
    /// The same event with each image converted by `f`, e.g. raw images
    /// decoded into a user type; the first error stops the conversion.
    pub fn try_map_images<J, E>(
        self,
        mut f: impl FnMut(I) -> Result<J, E>,
    ) -> Result<ChangeEvent<'a, J>, E> {
        let mut convert = |image: Option<I>| image.map(&mut f).transpose();
        let change = match self.change {
            Change::Insert { new_image } => Change::Insert {
                new_image: convert(new_image)?,
            },
            Change::Modify {
                old_image,
                new_image,
            } => Change::Modify {
                old_image: convert(old_image)?,
                new_image: convert(new_image)?,
            },
            Change::Remove { old_image } => Change::Remove {
                old_image: convert(old_image)?,
            },
        };
        Ok(ChangeEvent {
            event_id: self.event_id,
            change,
            keys: self.keys,
            sequence_number: self.sequence_number,
            approximate_creation_time: self.approximate_creation_time,
            size_bytes: self.size_bytes,
            view_type: self.view_type,
            source: self.source,
            region: self.region,
            event_version: self.event_version,
            user_identity: self.user_identity,
        })
    }

    /// The same event owning its strings, so it can outlive the input
    /// buffer (its images must already own theirs, e.g. an [`Item`]).
    pub fn into_owned(self) -> ChangeEvent<'static, I> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        ChangeEvent {
            event_id: own(self.event_id),
            change: self.change,
            keys: self.keys,
            sequence_number: own(self.sequence_number),
            approximate_creation_time: self.approximate_creation_time,
            size_bytes: self.size_bytes,
            view_type: self.view_type,
            source: self.source,
            region: self.region.map(own),
            event_version: self.event_version.map(own),
            user_identity: self.user_identity,
        }
    }

    /// Insert, modify or remove.
    pub fn kind(&self) -> ChangeKind {
        self.change.kind()
    }
    /// Whether this record is DynamoDB's Time to Live deleting an expired
    /// item (a REMOVE by the service principal `dynamodb.amazonaws.com`).
    pub fn is_ttl_delete(&self) -> bool {
        self.kind() == ChangeKind::Remove
            && self
                .user_identity
                .as_ref()
                .is_some_and(|u| u.kind == "Service" && u.principal_id == "dynamodb.amazonaws.com")
    }
}

impl<I: serde::Serialize> ChangeEvent<'_, I> {
    /// The record as one JSON object: `eventID`, `eventName`,
    /// `sequenceNumber`, `keys`, and `newImage` / `oldImage` when the record
    /// carries them (DynamoDB JSON, numbers as their exact text), plus
    /// `ttlDelete: true` for a TTL deletion.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert("eventID".into(), self.event_id.as_ref().into());
        out.insert("eventName".into(), self.kind().event_name().into());
        out.insert(
            "sequenceNumber".into(),
            self.sequence_number.as_ref().into(),
        );
        let json = |v: &dyn erased::Json| v.to_value();
        out.insert("keys".into(), json(&self.keys));
        if let Some(image) = self.change.new_image() {
            out.insert("newImage".into(), json(image));
        }
        if let Some(image) = self.change.old_image() {
            out.insert("oldImage".into(), json(image));
        }
        if self.is_ttl_delete() {
            out.insert("ttlDelete".into(), true.into());
        }
        serde_json::Value::Object(out)
    }
}

/// Serializing values of different types through one closure.
mod erased {
    pub(super) trait Json {
        fn to_value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_else(|e| serde_json::Value::String(e.to_string()))
        }
    }
}

impl serde::Serialize for RawImage<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The text is one checked JSON value, so this only re-finds its end;
        // it is kept as text because the decoders find that end themselves.
        let raw: &RawValue = serde_json::from_str(self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl RecordError {
    /// The error as one JSON object: `index`, `eventID` and `sequenceNumber`
    /// (when known), `field` and `error`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert("index".into(), self.index.into());
        if let Some(id) = &self.event_id {
            out.insert("eventID".into(), id.as_str().into());
        }
        if let Some(seq) = &self.sequence_number {
            out.insert("sequenceNumber".into(), seq.as_str().into());
        }
        out.insert("field".into(), self.field.as_str().into());
        out.insert("error".into(), self.problem.to_string().into());
        serde_json::Value::Object(out)
    }
}

impl<'a> ChangeEvent<'a, RawImage<'a>> {
    /// The image after the change as `T`; `Ok(None)` when the record carries
    /// no new image.
    ///
    /// ```
    /// # use serde::Deserialize;
    /// #[derive(Deserialize)]
    /// struct Document { id: String, pages: u32 }
    ///
    /// let json = br#"{"Records": [{"eventID": "1", "eventName": "INSERT",
    ///   "dynamodb": {"Keys": {"id": {"S": "d1"}}, "SequenceNumber": "100",
    ///     "NewImage": {"id": {"S": "d1"}, "pages": {"N": "3"}},
    ///     "StreamViewType": "NEW_IMAGE"}}]}"#;
    /// let records = streamgate_records::decode_event(json)?;
    /// let event = records.into_iter().next().unwrap()?;
    /// let doc = event.new_image::<Document>()?.unwrap();
    /// assert_eq!((doc.id.as_str(), doc.pages), ("d1", 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new_image<T: de::Deserialize<'a>>(&self) -> Result<Option<T>, ImageError> {
        self.change.new_image().map(RawImage::to).transpose()
    }
    /// The image before the change as `T`; `Ok(None)` when the record
    /// carries no old image.
    pub fn old_image<T: de::Deserialize<'a>>(&self) -> Result<Option<T>, ImageError> {
        self.change.old_image().map(RawImage::to).transpose()
    }
}

/// Why a record did not decode.
///
/// Only the decoders make one (it may gain fields), so it cannot be built
/// outside this crate:
///
/// ```compile_fail
/// use streamgate_records::{RecordError, RecordProblem};
/// let made = RecordError {
///     index: 0,
///     event_id: None,
///     sequence_number: None,
///     field: String::new(),
///     problem: Box::new(RecordProblem::Missing),
/// };
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
#[error("record {index} (event id {}, sequence number {}): {field}: {problem}",
    event_id.as_deref().unwrap_or("unknown"), sequence_number.as_deref().unwrap_or("unknown"))]
pub struct RecordError {
    /// The record's position in the batch, from 0.
    pub index: usize,
    /// `eventID`, if it could be read.
    pub event_id: Option<String>,
    /// `dynamodb.SequenceNumber`, if it could be read.
    pub sequence_number: Option<String>,
    /// The JSON path of the field at fault inside the record, e.g.
    /// `dynamodb.NewImage.pages`.
    pub field: String,
    /// What is wrong.
    pub problem: Box<RecordProblem>,
}

/// What is wrong with a record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordProblem {
    /// A required field is absent.
    #[error("required field is missing")]
    Missing,
    /// A field has the wrong type or an invalid value.
    #[error("{0}")]
    Invalid(String),
    /// An image or the keys did not decode (the record error's field
    /// already names the path).
    #[error("{}", .0.message)]
    Image(ImageError),
    /// `eventSourceARN` is not a DynamoDB stream ARN.
    #[error("{0}")]
    Arn(ArnError),
    /// The record carries an image its event name cannot have, e.g. an
    /// `OldImage` on an INSERT.
    #[error("{event_name} records cannot carry this image")]
    UnexpectedImage {
        /// The record's event name.
        event_name: &'static str,
    },
}

/// Why the input is not a stream event at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The input is not well-formed JSON.
    #[error("not JSON: {message}")]
    NotJson {
        /// The parser's message, with line and column.
        message: String,
    },
    /// Well-formed JSON, but not an object with a `Records` array.
    #[error("not a DynamoDB stream event (an object with a \"Records\" array): {message}")]
    NotAnEvent {
        /// What was found instead.
        message: String,
    },
}

// ---------------------------------------------------------------------------
// How images are read: kept raw, or deserialized into a user type.

/// How the batch decoder reads images.
pub(crate) trait ImageReader<'de> {
    /// The image type of the decoded events.
    type Image;
    /// Reads one image, recording the path of a failure in `trail`.
    fn read<D: Deserializer<'de>>(d: D, trail: &Trail) -> Result<Self::Image, D::Error>;
}

/// Images kept as borrowed JSON.
pub(crate) struct KeepRaw;

impl<'de> ImageReader<'de> for KeepRaw {
    type Image = RawImage<'de>;
    fn read<D: Deserializer<'de>>(d: D, _trail: &Trail) -> Result<RawImage<'de>, D::Error> {
        <&'de RawValue as de::Deserialize<'de>>::deserialize(d).map(|raw| RawImage(raw.get()))
    }
}

/// Images deserialized into `T` during the pass.
pub(crate) struct Typed<T>(PhantomData<T>);

impl<'de, T: de::Deserialize<'de>> ImageReader<'de> for Typed<T> {
    type Image = T;
    fn read<D: Deserializer<'de>>(d: D, trail: &Trail) -> Result<T, D::Error> {
        // The general parser finds the image's end (checking its syntax and
        // UTF-8); the specialised one then reads the wrappers from the text.
        let raw = <&'de RawValue as de::Deserialize<'de>>::deserialize(d)?;
        crate::fast::from_item_text(raw.get(), trail).map_err(de::Error::custom)
    }
}

/// Images decoded into untyped items, with attribute paths on failure.
pub(crate) struct AsItem;

impl<'de> ImageReader<'de> for AsItem {
    type Image = Item;
    fn read<D: Deserializer<'de>>(d: D, trail: &Trail) -> Result<Item, D::Error> {
        ItemSeed { trail }.deserialize(d)
    }
}

/// Decodes a Lambda event (or a GetRecords response) for a DynamoDB stream
/// with every image validated into an untyped [`Item`]: what a tool that
/// prints records wants.
pub fn decode_event_items(
    json: &[u8],
) -> Result<Vec<Result<ChangeEvent<'_, Item>, RecordError>>, EventError> {
    decode_with::<AsItem>(json)
}

/// Decodes a Lambda event (or a GetRecords response) for a DynamoDB stream,
/// keeping images as borrowed JSON to be decoded on demand: the fastest way
/// to get at the keys and metadata. An invalid image surfaces when it is
/// decoded ([`ChangeEvent::new_image`]); keys are always validated.
///
/// ```
/// use streamgate_records::{ChangeKind, decode_event};
///
/// let json = br#"{"Records": [
///   {"eventID": "a", "eventName": "REMOVE", "awsRegion": "eu-west-1",
///    "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
///    "dynamodb": {"Keys": {"id": {"S": "d1"}}, "SequenceNumber": "200", "StreamViewType": "KEYS_ONLY"}},
///   {"eventID": "b", "eventName": "UPSERT", "dynamodb": {"SequenceNumber": "201"}}
/// ]}"#;
/// let records = decode_event(json)?;
/// let first = records[0].as_ref().unwrap();
/// assert_eq!(first.kind(), ChangeKind::Remove);
/// assert!(first.change.old_image().is_none()); // KEYS_ONLY: no image at all
/// assert_eq!(first.source.as_ref().unwrap().table_name(), "documents");
/// let second = records[1].as_ref().unwrap_err();
/// assert_eq!(second.to_string(),
///     "record 1 (event id b, sequence number 201): eventName: unknown event name \"UPSERT\", expected INSERT, MODIFY or REMOVE");
/// # Ok::<(), streamgate_records::EventError>(())
/// ```
pub fn decode_event(json: &[u8]) -> Result<Vec<Result<ChangeEvent<'_>, RecordError>>, EventError> {
    match crate::fast::decode_event_raw(json) {
        Some(records) => Ok(records),
        None => decode_with::<KeepRaw>(json),
    }
}

/// Decodes a Lambda event (or a GetRecords response) for a DynamoDB stream,
/// deserializing every image into `T` as the decoder reaches it, with no
/// intermediate tree (a parser specialised for DynamoDB JSON reads the
/// event, borrowing strings where `T` allows). An
/// image that does not fit `T` fails its record only.
///
/// ```
/// # use serde::Deserialize;
/// #[derive(Deserialize, Debug)]
/// struct Document<'a> { id: &'a str, pages: u32 }
///
/// let json = br#"{"Records": [{"eventID": "1", "eventName": "INSERT",
///   "dynamodb": {"Keys": {"id": {"S": "d1"}}, "SequenceNumber": "100",
///     "NewImage": {"id": {"S": "d1"}, "pages": {"N": "3"}}}}]}"#;
/// let records = streamgate_records::decode_event_as::<Document>(json)?;
/// let doc = records[0].as_ref().unwrap().change.new_image().unwrap();
/// assert_eq!((doc.id, doc.pages), ("d1", 3));
/// # Ok::<(), streamgate_records::EventError>(())
/// ```
pub fn decode_event_as<'a, T: de::Deserialize<'a>>(
    json: &'a [u8],
) -> Result<Vec<Result<ChangeEvent<'a, T>, RecordError>>, EventError> {
    match crate::fast::decode_event_as(json) {
        Some(records) => Ok(records),
        None => decode_with::<Typed<T>>(json),
    }
}

type Decoded<'a, R> = Vec<Result<ChangeEvent<'a, <R as ImageReader<'a>>::Image>, RecordError>>;

pub(crate) fn decode_with<'a, R: ImageReader<'a>>(
    json: &'a [u8],
) -> Result<Decoded<'a, R>, EventError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let seed = EventSeed::<R>(PhantomData);
    let result = seed
        .deserialize(&mut deserializer)
        .and_then(|records| deserializer.end().map(|()| records));
    match result {
        Ok(Some(records)) => Ok(records),
        Ok(None) => Err(EventError::NotAnEvent {
            message: "the object has no \"Records\" field".to_owned(),
        }),
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            Err(EventError::NotAnEvent {
                message: e.to_string(),
            })
        }
        Err(e) => Err(EventError::NotJson {
            message: e.to_string(),
        }),
    }
}

/// The top level: an object with a `Records` array; other fields (such as a
/// GetRecords response's `NextShardIterator`) are skipped.
struct EventSeed<R>(PhantomData<R>);

impl<'de, R: ImageReader<'de>> DeserializeSeed<'de> for EventSeed<R> {
    type Value = Option<Decoded<'de, R>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, R: ImageReader<'de>> Visitor<'de> for EventSeed<R> {
    type Value = Option<Decoded<'de, R>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a \"Records\" array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut records = None;
        while let Some(key) = map.next_key_seed(TextCapture)? {
            if key == "Records" {
                let seed = RecordsSeed::<R> {
                    arn_cache: RefCell::new(None),
                    marker: PhantomData,
                };
                records = Some(map.next_value_seed(seed)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(records)
    }
}

/// The last source ARN seen and its parsed form: the records of a batch
/// share one, so it is parsed once.
pub(crate) type ArnCache = RefCell<Option<(String, Result<Arc<StreamArn>, ArnError>)>>;

struct RecordsSeed<R> {
    arn_cache: ArnCache,
    marker: PhantomData<R>,
}

impl<'de, R: ImageReader<'de>> DeserializeSeed<'de> for RecordsSeed<R> {
    type Value = Decoded<'de, R>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, R: ImageReader<'de>> Visitor<'de> for RecordsSeed<R> {
    type Value = Decoded<'de, R>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of stream records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let trail = Trail::default();
        loop {
            // Each record is pushed where it is built: decoded records can
            // be large, and returning them through the parser's layers
            // copies them several times.
            let seed = RecordSeed::<R> {
                out: &mut out,
                arn_cache: &self.arn_cache,
                trail: &trail,
                marker: PhantomData,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(out);
            }
        }
    }
}

struct RecordSeed<'c, 'de, R: ImageReader<'de>> {
    out: &'c mut Vec<RecordResult<'de, R>>,
    arn_cache: &'c ArnCache,
    trail: &'c Trail,
    marker: PhantomData<R>,
}

type RecordResult<'de, R> = Result<ChangeEvent<'de, <R as ImageReader<'de>>::Image>, RecordError>;

impl<'de, R: ImageReader<'de>> DeserializeSeed<'de> for RecordSeed<'_, 'de, R> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A record that is not even an object.
fn not_an_object<T>(index: usize, found: de::Unexpected<'_>) -> Result<T, RecordError> {
    Err(RecordError {
        index,
        event_id: None,
        sequence_number: None,
        field: "(record)".to_owned(),
        problem: Box::new(RecordProblem::Invalid(format!(
            "expected a record object, found {found}"
        ))),
    })
}

impl<'de, R: ImageReader<'de>> Visitor<'de> for RecordSeed<'_, 'de, R> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stream record object")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.out
            .push(not_an_object(self.out.len(), de::Unexpected::Bool(v)));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.out
            .push(not_an_object(self.out.len(), de::Unexpected::Signed(v)));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.out
            .push(not_an_object(self.out.len(), de::Unexpected::Unsigned(v)));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.out
            .push(not_an_object(self.out.len(), de::Unexpected::Float(v)));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.out
            .push(not_an_object(self.out.len(), de::Unexpected::Str(v)));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.out
            .push(not_an_object(self.out.len(), de::Unexpected::Unit));
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(&mut seq)?;
        self.out
            .push(not_an_object(self.out.len(), de::Unexpected::Seq));
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut record = RecordParts::<R::Image>::default();
        while let Some(key) = map.next_key_seed(TextCapture)? {
            match key.as_ref() {
                "eventID" => {
                    let v = map.next_value_seed(TextCapture);
                    record.event_id = record.note("eventID", v);
                }
                "eventName" => {
                    let v = map.next_value_seed(TextCapture);
                    if let Some(name) = record.note("eventName", v) {
                        record.set_event_name(&name);
                    }
                }
                "eventVersion" => {
                    let v = map.next_value_seed(TextCapture);
                    record.event_version = record.note("eventVersion", v);
                }
                "awsRegion" => {
                    let v = map.next_value_seed(TextCapture);
                    record.region = record.note("awsRegion", v);
                }
                "eventSourceARN" => {
                    let v = map.next_value_seed(TextCapture);
                    if let Some(text) = record.note("eventSourceARN", v) {
                        record.source = self.parse_arn(&mut record, &text);
                    }
                }
                "userIdentity" => {
                    let v = map.next_value_seed(UserIdentitySeed);
                    record.user_identity = record.note("userIdentity", v);
                }
                "dynamodb" => {
                    let v = map.next_value_seed(StreamRecordSeed::<R> {
                        parts: &mut record,
                        trail: self.trail,
                    });
                    record.note("dynamodb", v);
                    record.has_stream_record = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let index = self.out.len();
        self.out.push(record.finish(index));
        Ok(())
    }
}

impl<'de, R: ImageReader<'de>> RecordSeed<'_, 'de, R> {
    fn parse_arn<I>(&self, record: &mut RecordParts<'_, I>, text: &str) -> Option<Arc<StreamArn>> {
        parse_arn_cached(self.arn_cache, record, text)
    }
}

/// The source ARN of a record, parsed once per batch when the records
/// share it (they do); an invalid one is noted as the record's problem.
pub(crate) fn parse_arn_cached<I>(
    arn_cache: &ArnCache,
    record: &mut RecordParts<'_, I>,
    text: &str,
) -> Option<Arc<StreamArn>> {
    let mut cache = arn_cache.borrow_mut();
    let parsed = match cache.as_ref() {
        Some((seen, parsed)) if seen == text => parsed.clone(),
        _ => {
            let parsed = text.parse::<StreamArn>().map(Arc::new);
            *cache = Some((text.to_owned(), parsed.clone()));
            parsed
        }
    };
    match parsed {
        Ok(arn) => Some(arn),
        Err(e) => {
            record.problem("eventSourceARN".to_owned(), RecordProblem::Arn(e));
            None
        }
    }
}

/// The fields of one record as they are read, in whatever order.
pub(crate) struct RecordParts<'de, I> {
    pub(crate) event_id: Option<Cow<'de, str>>,
    pub(crate) kind: Option<ChangeKind>,
    pub(crate) event_version: Option<Cow<'de, str>>,
    pub(crate) region: Option<Cow<'de, str>>,
    pub(crate) source: Option<Arc<StreamArn>>,
    pub(crate) user_identity: Option<UserIdentity>,
    pub(crate) has_stream_record: bool,
    pub(crate) keys: Option<Item>,
    pub(crate) new_image: Option<I>,
    pub(crate) old_image: Option<I>,
    pub(crate) sequence_number: Option<Cow<'de, str>>,
    pub(crate) size_bytes: Option<u64>,
    pub(crate) view_type: Option<StreamViewType>,
    pub(crate) approximate_creation_time: Option<SystemTime>,
    /// The first problem found, with its field path.
    first_problem: Option<(String, RecordProblem)>,
}

impl<I> Default for RecordParts<'_, I> {
    fn default() -> Self {
        Self {
            event_id: None,
            kind: None,
            event_version: None,
            region: None,
            source: None,
            user_identity: None,
            has_stream_record: false,
            keys: None,
            new_image: None,
            old_image: None,
            sequence_number: None,
            size_bytes: None,
            view_type: None,
            approximate_creation_time: None,
            first_problem: None,
        }
    }
}

impl<'de, I> RecordParts<'de, I> {
    pub(crate) fn problem(&mut self, field: String, problem: RecordProblem) {
        if self.first_problem.is_none() {
            self.first_problem = Some((field, problem));
        }
    }
    /// Notes that the image `field` (`Keys`, `NewImage`, `OldImage`) did not
    /// convert, at `dynamodb.<field>` and the path within the image.
    pub(crate) fn image_problem(&mut self, field: &str, error: ImageError) {
        let path = if error.path.is_empty() {
            format!("dynamodb.{field}")
        } else {
            format!("dynamodb.{field}.{}", error.path)
        };
        self.problem(path, RecordProblem::Image(error));
    }
    /// Sets the change kind from an event name, or notes why it is unknown.
    pub(crate) fn set_event_name(&mut self, name: &str) {
        self.kind = match name {
            "INSERT" => Some(ChangeKind::Insert),
            "MODIFY" => Some(ChangeKind::Modify),
            "REMOVE" => Some(ChangeKind::Remove),
            other => {
                self.invalid(
                    "eventName",
                    format!("unknown event name {other:?}, expected INSERT, MODIFY or REMOVE"),
                );
                None
            }
        };
    }
    /// Parses and sets the source stream ARN, or notes why it is invalid.
    #[cfg(feature = "lambda-events")]
    pub(crate) fn set_source(&mut self, text: &str) {
        match text.parse::<StreamArn>() {
            Ok(arn) => self.source = Some(Arc::new(arn)),
            Err(e) => self.problem("eventSourceARN".to_owned(), RecordProblem::Arn(e)),
        }
    }
    pub(crate) fn invalid(&mut self, field: &str, message: String) {
        self.problem(field.to_owned(), RecordProblem::Invalid(message));
    }
    /// Keeps a field's value, or notes why it could not be read.
    fn note<T, E: fmt::Display>(&mut self, field: &str, value: Result<T, E>) -> Option<T> {
        match value {
            Ok(v) => Some(v),
            Err(e) => {
                self.invalid(field, e.to_string());
                None
            }
        }
    }

    pub(crate) fn finish(self, index: usize) -> Result<ChangeEvent<'de, I>, RecordError> {
        let error = |field: String, problem: RecordProblem, parts: &Self| RecordError {
            index,
            event_id: parts.event_id.as_deref().map(str::to_owned),
            sequence_number: parts.sequence_number.as_deref().map(str::to_owned),
            field,
            problem: Box::new(problem),
        };
        if let Some((field, problem)) = &self.first_problem {
            return Err(error(field.clone(), problem.clone(), &self));
        }
        let missing = [
            ("eventID", self.event_id.is_none()),
            ("eventName", self.kind.is_none()),
            ("dynamodb", !self.has_stream_record),
            (
                "dynamodb.Keys",
                self.has_stream_record && self.keys.is_none(),
            ),
            (
                "dynamodb.SequenceNumber",
                self.has_stream_record && self.sequence_number.is_none(),
            ),
        ];
        if let Some((field, _)) = missing.iter().find(|(_, absent)| *absent) {
            return Err(error((*field).to_owned(), RecordProblem::Missing, &self));
        }
        let unexpected = |field: &str, kind: ChangeKind, parts: &Self| {
            error(
                field.to_owned(),
                RecordProblem::UnexpectedImage {
                    event_name: kind.event_name(),
                },
                parts,
            )
        };
        let kind = self.kind.unwrap_or(ChangeKind::Insert);
        match kind {
            ChangeKind::Insert if self.old_image.is_some() => {
                return Err(unexpected("dynamodb.OldImage", kind, &self));
            }
            ChangeKind::Remove if self.new_image.is_some() => {
                return Err(unexpected("dynamodb.NewImage", kind, &self));
            }
            _ => {}
        }
        let Self {
            event_id,
            event_version,
            region,
            source,
            user_identity,
            keys,
            new_image,
            old_image,
            sequence_number,
            size_bytes,
            view_type,
            approximate_creation_time,
            ..
        } = self;
        let change = match kind {
            ChangeKind::Insert => Change::Insert { new_image },
            ChangeKind::Modify => Change::Modify {
                old_image,
                new_image,
            },
            ChangeKind::Remove => Change::Remove { old_image },
        };
        Ok(ChangeEvent {
            event_id: event_id.unwrap_or_default(),
            change,
            keys: keys.unwrap_or_default(),
            sequence_number: sequence_number.unwrap_or_default(),
            approximate_creation_time,
            size_bytes,
            view_type,
            source,
            region,
            event_version,
            user_identity,
        })
    }
}

/// The `dynamodb` object of a record, read into the record's parts. Problems
/// are noted in the parts; the input is always consumed to the end.
struct StreamRecordSeed<'p, 'de, 't, R: ImageReader<'de>> {
    parts: &'p mut RecordParts<'de, R::Image>,
    trail: &'t Trail,
}

impl<'de, R: ImageReader<'de>> DeserializeSeed<'de> for StreamRecordSeed<'_, 'de, '_, R> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, R: ImageReader<'de>> Visitor<'de> for StreamRecordSeed<'_, 'de, '_, R> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the record's \"dynamodb\" object")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        drain_seq(&mut seq)?;
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let parts = self.parts;
        let trail = self.trail;
        let image_error = |e: A::Error| ImageError {
            path: trail.take(),
            message: e.to_string(),
        };
        while let Some(key) = map.next_key_seed(TextCapture)? {
            match key.as_ref() {
                "Keys" => {
                    trail.take();
                    match map.next_value_seed(ItemSeed { trail }) {
                        Ok(keys) => parts.keys = Some(keys),
                        Err(e) => parts.image_problem("Keys", image_error(e)),
                    }
                }
                "NewImage" | "OldImage" => {
                    let is_new = key == "NewImage";
                    match map.next_value_seed(ImageSeed::<R> {
                        trail,
                        marker: PhantomData,
                    }) {
                        Ok(image) if is_new => parts.new_image = Some(image),
                        Ok(image) => parts.old_image = Some(image),
                        Err(e) => parts.image_problem(&key, image_error(e)),
                    }
                }
                "SequenceNumber" => {
                    let v = map.next_value_seed(TextCapture);
                    parts.sequence_number = parts.note("dynamodb.SequenceNumber", v);
                }
                "SizeBytes" => {
                    let v = map.next_value_seed(NumberCapture);
                    match parts.note("dynamodb.SizeBytes", v) {
                        Some(Scalar::Unsigned(n)) => parts.size_bytes = Some(n),
                        Some(other) => parts.invalid(
                            "dynamodb.SizeBytes",
                            format!("expected a byte count, found {other}"),
                        ),
                        None => {}
                    }
                }
                "StreamViewType" => {
                    let v = map.next_value_seed(TextCapture);
                    if let Some(text) = parts.note("dynamodb.StreamViewType", v) {
                        parts.view_type = StreamViewType::parse(&text);
                        if parts.view_type.is_none() {
                            parts.invalid(
                                "dynamodb.StreamViewType",
                                format!("unknown stream view type {text:?}, expected KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES"),
                            );
                        }
                    }
                }
                "ApproximateCreationDateTime" => {
                    let v = map.next_value_seed(NumberCapture);
                    if let Some(n) = parts.note("dynamodb.ApproximateCreationDateTime", v) {
                        match n.to_time() {
                            Some(t) => parts.approximate_creation_time = Some(t),
                            None => parts.invalid(
                                "dynamodb.ApproximateCreationDateTime",
                                format!("{n} is not a time in seconds since 1970"),
                            ),
                        }
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Reads an image with the batch's image reader, as an object or an error.
struct ImageSeed<'t, R> {
    trail: &'t Trail,
    marker: PhantomData<R>,
}

impl<'de, R: ImageReader<'de>> DeserializeSeed<'de> for ImageSeed<'_, R> {
    type Value = R::Image;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<R::Image, D::Error> {
        self.trail.take();
        R::read(d, self.trail)
    }
}

/// A JSON number, as it came.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
}

impl Scalar {
    pub(crate) fn to_time(self) -> Option<SystemTime> {
        let seconds = match self {
            Self::Unsigned(n) => return SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(n)),
            Self::Signed(_) => return None,
            Self::Float(f) => f,
        };
        let duration = Duration::try_from_secs_f64(seconds).ok()?;
        SystemTime::UNIX_EPOCH.checked_add(duration)
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsigned(n) => write!(f, "{n}"),
            Self::Signed(n) => write!(f, "{n}"),
            Self::Float(n) => write!(f, "{n}"),
        }
    }
}

/// Captures a JSON number; anything else is consumed and rejected.
struct NumberCapture;

impl<'de> DeserializeSeed<'de> for NumberCapture {
    type Value = Scalar;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NumberCapture {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Signed(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        drain_map(&mut map, false)?;
        Err(de::Error::invalid_type(de::Unexpected::Map, &self))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        drain_seq(&mut seq)?;
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

/// Reads `userIdentity` in either spelling: a Lambda event writes
/// `{"type": "...", "principalId": "..."}`, while the GetRecords wire
/// response (the DynamoDB Streams `Identity` shape) writes
/// `{"Type": "...", "PrincipalId": "..."}`. The specialised parser of
/// `fast.rs` accepts exactly the same names.
struct UserIdentitySeed;

impl<'de> DeserializeSeed<'de> for UserIdentitySeed {
    type Value = UserIdentity;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<UserIdentity, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UserIdentitySeed {
    type Value = UserIdentity;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a user identity object with \"type\" and \"principalId\" (or \"Type\" and \"PrincipalId\")")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UserIdentity, A::Error> {
        let mut kind = None;
        let mut principal_id = None;
        let mut failure = None;
        while let Some(key) = map.next_key_seed(TextCapture)? {
            let slot = match key.as_ref() {
                "type" | "Type" => &mut kind,
                "principalId" | "PrincipalId" => &mut principal_id,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            match map.next_value_seed(TextCapture) {
                Ok(v) => *slot = Some(v.into_owned()),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(UserIdentity {
            kind: kind.unwrap_or_default(),
            principal_id: principal_id.unwrap_or_default(),
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UserIdentity, A::Error> {
        drain_seq(&mut seq)?;
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

impl AttributePath {
    /// Whether the path is empty (the item itself).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    /// Decodes `records` (the JSON of the `Records` array's elements, joined
    /// by commas) and prints one line per record, as the xtask does.
    fn check(records: &str, expected: Expect) {
        let json = format!("{{\"Records\": [{records}]}}");
        let shown = match decode_event_items(json.as_bytes()) {
            Err(e) => format!("event error: {e}"),
            Ok(records) => records
                .iter()
                .map(|r| match r {
                    Ok(event) => event.to_json().to_string(),
                    Err(e) => format!("error: {e}"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        };
        expected.assert_eq(&shown);
    }

    const ARN: &str =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";

    fn record(name: &str, dynamodb: &str) -> String {
        format!(
            r#"{{"eventID": "e-{name}", "eventName": "{name}", "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
                "eventSourceARN": "{ARN}", "dynamodb": {dynamodb}}}"#
        )
    }

    #[test]
    fn each_event_name_with_its_images() {
        let insert = record(
            "INSERT",
            r#"{"Keys": {"id": {"S": "a"}}, "NewImage": {"id": {"S": "a"}, "n": {"N": "1"}},
                "SequenceNumber": "1", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"}"#,
        );
        let modify = record(
            "MODIFY",
            r#"{"Keys": {"id": {"S": "a"}}, "OldImage": {"id": {"S": "a"}, "n": {"N": "1"}},
                "NewImage": {"id": {"S": "a"}, "n": {"N": "2"}},
                "SequenceNumber": "2", "StreamViewType": "NEW_AND_OLD_IMAGES"}"#,
        );
        let remove = record(
            "REMOVE",
            r#"{"Keys": {"id": {"S": "a"}}, "OldImage": {"id": {"S": "a"}, "n": {"N": "2"}},
                "SequenceNumber": "3", "StreamViewType": "NEW_AND_OLD_IMAGES"}"#,
        );
        check(
            &[insert, modify, remove].join(","),
            expect![[r#"
                {"eventID":"e-INSERT","eventName":"INSERT","keys":{"id":{"S":"a"}},"newImage":{"id":{"S":"a"},"n":{"N":"1"}},"sequenceNumber":"1"}
                {"eventID":"e-MODIFY","eventName":"MODIFY","keys":{"id":{"S":"a"}},"newImage":{"id":{"S":"a"},"n":{"N":"2"}},"oldImage":{"id":{"S":"a"},"n":{"N":"1"}},"sequenceNumber":"2"}
                {"eventID":"e-REMOVE","eventName":"REMOVE","keys":{"id":{"S":"a"}},"oldImage":{"id":{"S":"a"},"n":{"N":"2"}},"sequenceNumber":"3"}"#]],
        );
    }

    #[test]
    fn keys_only_has_no_image_and_empty_image_is_kept() {
        let keys_only = record(
            "MODIFY",
            r#"{"Keys": {"pk": {"S": "a"}, "sk": {"N": "7"}}, "SequenceNumber": "5",
                "StreamViewType": "KEYS_ONLY"}"#,
        );
        let empty = record(
            "INSERT",
            r#"{"Keys": {"pk": {"S": "a"}}, "NewImage": {}, "SequenceNumber": "6",
                "StreamViewType": "NEW_IMAGE"}"#,
        );
        check(
            &[keys_only, empty].join(","),
            expect![[r#"
                {"eventID":"e-MODIFY","eventName":"MODIFY","keys":{"pk":{"S":"a"},"sk":{"N":"7"}},"sequenceNumber":"5"}
                {"eventID":"e-INSERT","eventName":"INSERT","keys":{"pk":{"S":"a"}},"newImage":{},"sequenceNumber":"6"}"#]],
        );
    }

    #[test]
    fn ttl_delete_is_recognised() {
        let ttl = r#"{"eventID": "t", "eventName": "REMOVE",
            "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            "dynamodb": {"Keys": {"id": {"S": "old"}}, "SequenceNumber": "9", "StreamViewType": "KEYS_ONLY"}}"#;
        let user = r#"{"eventID": "u", "eventName": "REMOVE",
            "userIdentity": {"type": "Service", "principalId": "someone.else"},
            "dynamodb": {"Keys": {"id": {"S": "old"}}, "SequenceNumber": "10"}}"#;
        check(
            &format!("{ttl},{user}"),
            expect![[r#"
                {"eventID":"t","eventName":"REMOVE","keys":{"id":{"S":"old"}},"sequenceNumber":"9","ttlDelete":true}
                {"eventID":"u","eventName":"REMOVE","keys":{"id":{"S":"old"}},"sequenceNumber":"10"}"#]],
        );
    }

    #[test]
    fn every_attribute_type_and_exact_numbers() {
        let all = record(
            "INSERT",
            r#"{"Keys": {"id": {"S": ""}}, "SequenceNumber": "11", "NewImage": {
                "s": {"S": ""}, "n": {"N": "12345678901234567890123456789012345678"},
                "small": {"N": "1E-130"}, "b": {"B": "AAEC"}, "t": {"BOOL": true},
                "z": {"NULL": true}, "m": {"M": {"x": {"L": [{"N": "-0.50"}, {"S": "\u00e9"}]}}},
                "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AA==", "AQ=="]}}}"#,
        );
        check(
            &all,
            expect![[
                r#"{"eventID":"e-INSERT","eventName":"INSERT","keys":{"id":{"S":""}},"newImage":{"b":{"B":"AAEC"},"bs":{"BS":["AA==","AQ=="]},"m":{"M":{"x":{"L":[{"N":"-0.50"},{"S":"é"}]}}},"n":{"N":"12345678901234567890123456789012345678"},"ns":{"NS":["1","2.5"]},"s":{"S":""},"small":{"N":"1E-130"},"ss":{"SS":["a","b"]},"t":{"BOOL":true},"z":{"NULL":true}},"sequenceNumber":"11"}"#
            ]],
        );
    }

    #[test]
    fn bad_records_fail_alone_and_say_where() {
        let good = record(
            "INSERT",
            r#"{"Keys": {"id": {"S": "a"}}, "SequenceNumber": "1"}"#,
        );
        let bad_number = record(
            "INSERT",
            r#"{"Keys": {"id": {"S": "a"}}, "SequenceNumber": "2",
                "NewImage": {"a": {"M": {"b": {"L": [{"N": "1"}, {"N": "1e999"}]}}}}}"#,
        );
        let duplicate = record(
            "INSERT",
            r#"{"Keys": {"id": {"S": "a"}}, "SequenceNumber": "3", "NewImage": {"s": {"NS": ["1", "1.0"]}}}"#,
        );
        let empty_set = record(
            "INSERT",
            r#"{"Keys": {"id": {"S": "a"}}, "SequenceNumber": "4", "NewImage": {"s": {"SS": []}}}"#,
        );
        let unknown_type = record(
            "INSERT",
            r#"{"Keys": {"id": {"X": "a"}}, "SequenceNumber": "5"}"#,
        );
        let two_types = record(
            "INSERT",
            r#"{"Keys": {"id": {"S": "a", "N": "1"}}, "SequenceNumber": "6"}"#,
        );
        let missing_seq = record("INSERT", r#"{"Keys": {"id": {"S": "a"}}}"#);
        let not_object = r#""just a string""#.to_owned();
        let old_on_insert = record(
            "INSERT",
            r#"{"Keys": {"id": {"S": "a"}}, "SequenceNumber": "8", "OldImage": {}}"#,
        );
        let bad_arn =
            r#"{"eventID": "x", "eventName": "INSERT", "eventSourceARN": "arn:aws:s3:::bucket",
            "dynamodb": {"Keys": {}, "SequenceNumber": "9"}}"#
                .to_owned();
        let bad_base64 = record(
            "INSERT",
            r#"{"Keys": {"id": {"B": "!!"}}, "SequenceNumber": "10"}"#,
        );
        let wrong_json_type = record(
            "INSERT",
            r#"{"Keys": {"id": {"S": ["a"]}}, "SequenceNumber": "11", "SizeBytes": "big"}"#,
        );
        check(
            &[
                good.clone(),
                bad_number,
                duplicate,
                empty_set,
                unknown_type,
                two_types,
                missing_seq,
                not_object,
                old_on_insert,
                bad_arn,
                bad_base64,
                wrong_json_type,
                good,
            ]
            .join(","),
            expect![[r#"
                {"eventID":"e-INSERT","eventName":"INSERT","keys":{"id":{"S":"a"}},"sequenceNumber":"1"}
                error: record 1 (event id e-INSERT, sequence number 2): dynamodb.NewImage.a.b[1]: "1e999" is out of DynamoDB's range (magnitude 1E-130 to 9.99E+125) at line 6 column 79
                error: record 2 (event id e-INSERT, sequence number 3): dynamodb.NewImage.s: NS set has a duplicate element 1.0 at line 8 column 226
                error: record 3 (event id e-INSERT, sequence number 4): dynamodb.NewImage.s: a SS set must not be empty at line 10 column 216
                error: record 4 (event id e-INSERT, sequence number 5): dynamodb.Keys.id: unknown attribute type "X", expected one of S, N, B, BOOL, NULL, M, L, SS, NS, BS at line 12 column 162
                error: record 5 (event id e-INSERT, sequence number 6): dynamodb.Keys.id: attribute value has more than one type key at line 14 column 172
                error: record 6 (event id e-INSERT, sequence number unknown): dynamodb.SequenceNumber: required field is missing
                error: record 7 (event id unknown, sequence number unknown): (record): expected a record object, found string "just a string"
                error: record 8 (event id e-INSERT, sequence number 8): dynamodb.OldImage: INSERT records cannot carry this image
                error: record 9 (event id x, sequence number 9): eventSourceARN: ARN "arn:aws:s3:::bucket" is for service "s3", expected "dynamodb"
                error: record 10 (event id e-INSERT, sequence number 10): dynamodb.Keys.id: base64 text has length 2, which is not a multiple of 4 at line 21 column 163
                error: record 11 (event id e-INSERT, sequence number 11): dynamodb.Keys.id: invalid type: sequence, expected a string at line 23 column 163
                {"eventID":"e-INSERT","eventName":"INSERT","keys":{"id":{"S":"a"}},"sequenceNumber":"1"}"#]],
        );
    }

    #[test]
    fn not_an_event() {
        let show = |input: &str| match decode_event(input.as_bytes()) {
            Ok(records) => format!("{} records", records.len()),
            Err(e) => e.to_string(),
        };
        expect![[r#"not JSON: EOF while parsing a value at line 1 column 0"#]].assert_eq(&show(""));
        expect![[r#"not JSON: trailing comma at line 1 column 16"#]]
            .assert_eq(&show(r#"{"Records": [1,]}"#));
        expect![[r#"not a DynamoDB stream event (an object with a "Records" array): the object has no "Records" field"#]]
            .assert_eq(&show(r#"{"records": []}"#));
        expect![[r#"not a DynamoDB stream event (an object with a "Records" array): invalid type: sequence, expected an object with a "Records" array at line 1 column 0"#]]
            .assert_eq(&show("[]"));
        expect![[r#"0 records"#]].assert_eq(&show(r#"{"Records": [], "NextShardIterator": "x"}"#));
    }

    #[test]
    fn raw_images_convert_and_events_outlive_the_input() {
        let json = format!(
            "{{\"Records\": [{}]}}",
            record(
                "MODIFY",
                r#"{"Keys": {"id": {"S": "a"}}, "SequenceNumber": "2",
                    "OldImage": {"n": {"N": "1"}}, "NewImage": {"n": {"N": "x"}}}"#,
            )
        );
        let owned: ChangeEvent<'static, Item> = {
            let records = decode_event(json.as_bytes()).unwrap();
            let event = records.into_iter().next().unwrap().unwrap();
            let bad = event.clone().try_map_images(|raw| raw.to::<u8>());
            assert_eq!(
                bad.unwrap_err().to_string(),
                "at (item): invalid type: map, expected u8"
            );
            let err = event.clone().try_map_images(|raw| raw.item()).unwrap_err();
            assert_eq!(err.path.to_string(), "n");
            let only_old = event.try_map_images(|raw| {
                if raw.json().contains("\"x\"") {
                    Ok(Item::new())
                } else {
                    raw.item()
                }
            });
            only_old.unwrap().into_owned()
        };
        assert_eq!(owned.sequence_number, "2");
        assert_eq!(
            owned.change.old_image().unwrap()["n"]
                .as_n()
                .unwrap()
                .as_str(),
            "1"
        );
    }

    #[test]
    fn metadata_is_typed() {
        let json = record(
            "INSERT",
            r#"{"ApproximateCreationDateTime": 1714564800.5, "Keys": {"id": {"S": "a"}},
                "SequenceNumber": "4421584500000000017450439091", "SizeBytes": 26,
                "StreamViewType": "NEW_IMAGE"}"#,
        );
        let json = format!("{{\"Records\": [{json}, {json}]}}");
        let records = decode_event(json.as_bytes()).unwrap();
        let first = records[0].as_ref().unwrap();
        let second = records[1].as_ref().unwrap();
        assert_eq!(first.source.as_ref().unwrap().table_name(), "documents");
        assert!(Arc::ptr_eq(
            first.source.as_ref().unwrap(),
            second.source.as_ref().unwrap()
        ));
        assert_eq!(first.region.as_deref(), Some("eu-west-1"));
        assert_eq!(first.event_version.as_deref(), Some("1.1"));
        assert_eq!(first.size_bytes, Some(26));
        assert_eq!(first.view_type, Some(StreamViewType::NewImage));
        let since_epoch = first
            .approximate_creation_time
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        assert_eq!(since_epoch.as_millis(), 1_714_564_800_500);
        assert!(
            matches!(first.sequence_number, Cow::Borrowed(_)),
            "borrowed from the input"
        );
        assert!(!first.is_ttl_delete());
    }
}
