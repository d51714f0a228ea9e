//! Lambda (restJson1 under `/2015-03-31/`): the control plane of functions.
//! Requests are routed by method and path; errors carry their code in the
//! `x-amzn-ErrorType` header and `{"Type","message"}` in the body, as the
//! SDKs expect ([`crate::wire::Protocol::RestJson`]).
//!
//! Implemented: CreateFunction, GetFunction, GetFunctionConfiguration,
//! ListFunctions, DeleteFunction ([`functions`]). Every other Lambda path
//! answers `NotImplementedException` naming the operation, so a client
//! learns at once what this local cloud does not do yet.

pub mod base64;
pub mod functions;

use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::Cloud;
use crate::wire::{ReceivedRequest, Reply, parse_form, percent_decode};

/// The path prefix of the Lambda API version this module speaks.
pub const API_PREFIX: &str = "/2015-03-31/";

/// A successful restJson1 reply with this status and JSON body.
pub(crate) fn json_reply(status: u16, body: impl Into<bytes::Bytes>) -> Reply {
    Reply {
        status,
        content_type: "application/json",
        body: body.into(),
        error_type: None,
    }
}

/// Answers one Lambda request by `caller` in `region`.
pub fn handle(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    request: &ReceivedRequest,
) -> Result<Reply, ApiError> {
    let path = request.path.strip_prefix(API_PREFIX).unwrap_or_default();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    let query = parse_form(&request.query);
    let qualifier = query
        .iter()
        .find(|(name, _)| name == "Qualifier")
        .map(|(_, value)| value.as_str());
    let method = request.method.as_str();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (method, segments.as_slice()) {
        ("POST", ["functions"]) => functions::create(cloud, caller, region, &request.body),
        ("GET", ["functions"]) => functions::list(cloud, caller, region, &query),
        ("GET", ["functions", name]) => {
            functions::get(cloud, caller, region, name, qualifier, true)
        }
        ("GET", ["functions", name, "configuration"]) => {
            functions::get(cloud, caller, region, name, qualifier, false)
        }
        ("DELETE", ["functions", name]) => {
            functions::delete(cloud, caller, region, name, qualifier)
        }
        _ => Err(ApiError::new(
            ErrorCode::NotImplementedException,
            format!(
                "streamgate-local does not implement the Lambda operation {method} {} yet",
                request.path
            ),
        )),
    }
}
