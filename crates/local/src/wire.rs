//! The wire: a received request in plain data ([`ReceivedRequest`]), the
//! encodings the protocols use (percent-encoding, `application/x-www-form-urlencoded`
//! bodies, XML text) and the responses of each protocol, errors included.

use crate::error::{ApiError, ErrorCode};
use bytes::Bytes;

/// A request as received, body collected; header names are lowercase.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// `POST`, `GET`, ...
    pub method: String,
    /// The path as sent, still percent-encoded.
    pub path: String,
    /// The query string as sent (after `?`), still percent-encoded.
    pub query: String,
    /// Headers in arrival order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl ReceivedRequest {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The protocol family a request speaks, which decides the shape of its
/// response and of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1_0 (DynamoDB, DynamoDB Streams).
    Json,
    /// restJson1 (Lambda): the error code travels in `x-amzn-ErrorType`.
    RestJson,
    /// awsQuery with XML responses, with the service's XML namespace.
    Query {
        /// `https://iam.amazonaws.com/doc/2010-05-08/` or the STS one.
        namespace: &'static str,
    },
}

/// The XML namespace of IAM responses.
pub const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// The XML namespace of STS responses.
pub const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// A response ready to be sent.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: Bytes,
    /// Headers the protocol adds (restJson1: `x-amzn-ErrorType` on an
    /// error, Lambda's `X-Amz-Function-Error` and the like).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A 200 awsJson1_0 reply.
    pub fn json(body: impl Into<Bytes>) -> Self {
        Self {
            status: 200,
            content_type: "application/x-amz-json-1.0",
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// A 200 awsQuery reply: `<{Action}Response><{Action}Result>inner</...>`
    /// with the response metadata AWS adds.
    pub fn query(namespace: &str, action: &str, inner: &str, request_id: &str) -> Self {
        let result = if inner.is_empty() {
            String::new()
        } else {
            format!("<{action}Result>{inner}</{action}Result>")
        };
        let body = format!(
            "<{action}Response xmlns=\"{namespace}\">{result}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
        );
        Self {
            status: 200,
            content_type: "text/xml",
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// An error in the shape of `protocol`.
    pub fn error(protocol: Protocol, error: &ApiError, request_id: &str) -> Self {
        match protocol {
            Protocol::Json => {
                let mut body = serde_json::json!({
                    "__type": format!("{}#{}", error.code.json_namespace(), error.code.as_str()),
                    "message": error.message,
                });
                if let (Some(details), Some(object)) = (&error.details, body.as_object_mut()) {
                    object.extend(details.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                Self {
                    status: error.code.http_status(),
                    content_type: "application/x-amz-json-1.0",
                    body: body.to_string().into(),
                    headers: Vec::new(),
                }
            }
            Protocol::RestJson => {
                // Lambda sends the code in a header and `Type` (User or
                // Service) with the message in the body.
                let kind = if error.code.rest_status() >= 500 {
                    "Service"
                } else {
                    "User"
                };
                let mut body = serde_json::json!({ "Type": kind, "message": error.message });
                if let (Some(details), Some(object)) = (&error.details, body.as_object_mut()) {
                    object.extend(details.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                Self {
                    status: error.code.rest_status(),
                    content_type: "application/json",
                    body: body.to_string().into(),
                    headers: vec![("x-amzn-errortype", error.code.as_str().to_owned())],
                }
            }
            Protocol::Query { namespace } => {
                let code = error.code.for_query();
                let kind = if code == ErrorCode::InternalFailure {
                    "Receiver"
                } else {
                    "Sender"
                };
                let body = format!(
                    "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                    code.as_str(),
                    xml_escape(&error.message)
                );
                Self {
                    status: code.http_status(),
                    content_type: "text/xml",
                    body: body.into(),
                    headers: Vec::new(),
                }
            }
        }
    }
}

/// Escapes text for XML element content (the only place this server puts
/// text into XML).
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters (and `/`
/// when `keep_slash`), as SigV4's canonical forms and IAM's policy documents
/// in responses need.
pub fn percent_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~');
        if unreserved || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes percent-escapes (and `+` as a space when `plus_is_space`, as in
/// form bodies). Invalid escapes are kept as they are, as AWS keeps them.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = match (byte, bytes.get(index + 1), bytes.get(index + 2)) {
            (b'%', Some(&high), Some(&low)) => hex_value(high).zip(hex_value(low)),
            _ => None,
        };
        if let Some((high, low)) = escaped {
            out.push(high << 4 | low);
            index += 3;
        } else {
            out.push(if plus_is_space && byte == b'+' {
                b' '
            } else {
                byte
            });
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Parses `a=1&b=2` into decoded pairs, in order.
pub fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key, true), percent_decode(value, true))
        })
        .collect()
}

/// The parameters of an awsQuery request (form body, or query string).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a required parameter, or IAM's validation error naming
    /// the member in camel case as AWS does.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| {
            let mut member = name.to_owned();
            if let Some(first) = member.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            ApiError::new(
                ErrorCode::ValidationError,
                format!(
                    "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
                ),
            )
        })
    }
}

/// Sets `key` of a JSON object (a no-op on anything else).
pub fn set_member(target: &mut serde_json::Value, key: &str, value: serde_json::Value) {
    if let Some(map) = target.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        for nibble in [byte >> 4, byte & 0xf] {
            // A nibble is below 16, so `get` always finds a digit.
            if let Some(&digit) = DIGITS.get(usize::from(nibble)) {
                out.push(char::from(digit));
            }
        }
    }
    out
}

/// Decodes a JSON request body into `T`; a body that does not fit is a
/// SerializationException with serde's reason.
pub(crate) fn parse_json_body<T: for<'de> serde::Deserialize<'de>>(
    body: &[u8],
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| ApiError::serialization(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(error: ApiError, protocol: Protocol, expected: Expect) {
        let reply = Reply::error(protocol, &error, "req-1");
        let text = format!(
            "{} {}\n{}",
            reply.status,
            reply.content_type,
            String::from_utf8_lossy(&reply.body)
        );
        expected.assert_eq(&text);
    }

    #[test]
    fn json_errors_carry_the_namespaced_type() {
        check(
            ApiError::not_found("Requested resource not found"),
            Protocol::Json,
            expect![[r#"
                400 application/x-amz-json-1.0
                {"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#]],
        );
        check(
            ApiError::new(ErrorCode::InvalidSignatureException, "bad"),
            Protocol::Json,
            expect![[r#"
                400 application/x-amz-json-1.0
                {"__type":"com.amazon.coral.service#InvalidSignatureException","message":"bad"}"#]],
        );
    }

    #[test]
    fn query_errors_are_error_responses() {
        check(
            ApiError::new(
                ErrorCode::NoSuchEntity,
                "The role with name r cannot be found.",
            ),
            Protocol::Query {
                namespace: IAM_NAMESPACE,
            },
            expect![[r#"
                404 text/xml
                <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name r cannot be found.</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"#]],
        );
        check(
            ApiError::new(ErrorCode::InvalidSignatureException, "a < b"),
            Protocol::Query {
                namespace: STS_NAMESPACE,
            },
            expect![[r#"
                403 text/xml
                <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>a &lt; b</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"#]],
        );
    }

    #[test]
    fn percent_encoding_round_trips() {
        let text = "{\"a\": \"b/c d+é\"}";
        assert_eq!(percent_decode(&percent_encode(text, false), false), text);
        assert_eq!(percent_encode("a/b c", true), "a/b%20c");
        assert_eq!(percent_decode("a+b%2", true), "a b%2");
        assert_eq!(
            parse_form("Action=GetRole&RoleName=r%2Bx&Empty="),
            vec![
                ("Action".to_owned(), "GetRole".to_owned()),
                ("RoleName".to_owned(), "r+x".to_owned()),
                ("Empty".to_owned(), String::new()),
            ]
        );
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
