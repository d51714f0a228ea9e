//! Lambda (restJson1 under `/2015-03-31/`). Requests are routed by method and path; errors carry their code in the
//! `x-amzn-ErrorType` header and `{"Type","message"}` in the body, as the
//! SDKs expect ([`crate::wire::Protocol::RestJson`]).
//!
//! Implemented: CreateFunction, GetFunction, GetFunctionConfiguration,
//! ListFunctions, UpdateFunctionCode, UpdateFunctionConfiguration,
//! DeleteFunction ([`functions`]); PublishVersion, ListVersionsByFunction,
//! CreateAlias, GetAlias, ListAliases, DeleteAlias ([`versions`]); Invoke ([`invoke`], answered before the
//! router because it waits, run by [`executor`] through [`runtime_api`]);
//! event source mappings ([`mappings`], polled by [`poller`], their
//! FilterCriteria in [`filter`]). Every other
//! Lambda path answers `NotImplementedException` naming the operation, so a
//! client learns at once what this local cloud does not do yet.

pub mod base64;
pub mod executor;
pub mod filter;
pub mod functions;
pub mod invoke;
pub mod mappings;
pub mod poller;
pub mod runtime_api;
pub mod versions;

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
        headers: Vec::new(),
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
        ("GET", ["functions", name, "logs"]) => functions::logs(cloud, caller, region, name),
        ("PUT", ["functions", name, "code"]) => {
            functions::update_code(cloud, caller, region, name, &request.body)
        }
        ("PUT", ["functions", name, "configuration"]) => {
            functions::update_configuration(cloud, caller, region, name, &request.body)
        }
        ("POST", ["functions", name, "versions"]) => {
            versions::publish(cloud, caller, region, name, &request.body)
        }
        ("POST", ["functions", name, "aliases"]) => {
            versions::create_alias(cloud, caller, region, name, &request.body)
        }
        ("GET", ["functions", name, "versions"]) => {
            versions::list_versions(cloud, caller, region, name)
        }
        ("GET", ["functions", name, "aliases"]) => {
            versions::list_aliases(cloud, caller, region, name)
        }
        ("GET", ["functions", name, "aliases", alias]) => {
            versions::get_alias(cloud, caller, region, name, alias)
        }
        ("DELETE", ["functions", name, "aliases", alias]) => {
            versions::delete_alias(cloud, caller, region, name, alias)
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

#[cfg(test)]
mod tests {
    use crate::clock;
    use crate::identity::ROOT_SECRET;
    use crate::router::respond;
    use crate::sigv4::sign;
    use crate::state::{Cloud, ShardRollover};
    use crate::wire::ReceivedRequest;
    use expect_test::{Expect, expect};

    fn check(method: &str, path: &str, expected: Expect) {
        let cloud = Cloud::new(&["111111111111".to_owned()], ShardRollover::default());
        let mut request = ReceivedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: String::new(),
            headers: vec![("host".to_owned(), "127.0.0.1:4577".to_owned())],
            body: bytes::Bytes::new(),
        };
        sign(
            &mut request,
            "111111111111",
            ROOT_SECRET,
            "eu-west-1",
            "lambda",
            clock::wall_millis(),
        );
        let reply = respond(&cloud, &request, "req-1");
        expected.assert_eq(&format!(
            "{} {:?} {}",
            reply.status,
            reply.headers,
            String::from_utf8_lossy(&reply.body)
        ));
    }

    #[test]
    fn routes_by_method_and_path_with_rest_json_errors() {
        check(
            "GET",
            "/2015-03-31/functions",
            expect![[r#"200 [] {"Functions":[]}"#]],
        );
        check(
            "GET",
            "/2015-03-31/functions/absent/logs",
            expect![[
                r#"404 [("x-amzn-errortype", "ResourceNotFoundException")] {"Type":"User","message":"Function not found: arn:aws:lambda:eu-west-1:111111111111:function:absent"}"#
            ]],
        );
        check(
            "GET",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A111111111111%3Afunction%3Aabsent/configuration",
            expect![[
                r#"404 [("x-amzn-errortype", "ResourceNotFoundException")] {"Type":"User","message":"Function not found: arn:aws:lambda:eu-west-1:111111111111:function:absent"}"#
            ]],
        );
        check(
            "PUT",
            "/2015-03-31/functions/absent/concurrency",
            expect![[
                r#"501 [("x-amzn-errortype", "NotImplementedException")] {"Type":"Service","message":"streamgate-local does not implement the Lambda operation PUT /2015-03-31/functions/absent/concurrency yet"}"#
            ]],
        );
    }
}
