//! Lambda (restJson1 under `/2015-03-31/`, function URLs under
//! `/2021-10-31/`, and the operations Lambda keeps under other API dates
//! listed below). Requests are routed by method and path; errors carry their code in the
//! `x-amzn-ErrorType` header and `{"Type","message"}` in the body, as the
//! SDKs expect ([`crate::wire::Protocol::RestJson`]).
//!
//! Implemented: CreateFunction, GetFunction, GetFunctionConfiguration,
//! ListFunctions, UpdateFunctionCode, UpdateFunctionConfiguration,
//! DeleteFunction ([`functions`]); PublishVersion, ListVersionsByFunction,
//! CreateAlias, GetAlias, ListAliases, UpdateAlias, DeleteAlias ([`versions`]);
//! AddPermission, GetPolicy, RemovePermission ([`permissions`], the function
//! policy every operation it can grant is authorized with);
//! CreateFunctionUrlConfig, GetFunctionUrlConfig, UpdateFunctionUrlConfig,
//! DeleteFunctionUrlConfig, ListFunctionUrlConfigs (under `/2021-10-31/`,
//! [`urls`]), and the URLs themselves, told by their host and answered
//! before the router ([`url_invoke`]); Invoke ([`invoke`], answered before the
//! router because it waits, run by [`executor`] through [`runtime_api`]);
//! event source mappings ([`mappings`], polled by [`poller`], their
//! FilterCriteria in [`filter`]); TagResource, UntagResource, ListTags
//! ([`tags`]); PutFunctionConcurrency, GetFunctionConcurrency,
//! DeleteFunctionConcurrency, GetAccountSettings, enforced on every
//! invocation ([`concurrency`]); Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s),
//! applied to `Event` invocations ([`event_config`]). Every other
//! Lambda path answers `NotImplementedException` naming the operation, so a
//! client learns at once what this local cloud does not do yet.

pub mod base64;
pub mod concurrency;
pub mod event_config;
pub mod executor;
pub mod filter;
pub mod functions;
pub mod invoke;
pub mod mappings;
mod paging;
pub mod permissions;
pub mod poller;
pub mod runtime_api;
pub mod tags;
pub mod url_cors;
pub mod url_invoke;
pub mod urls;
pub mod versions;

use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::Cloud;
use crate::wire::{ReceivedRequest, Reply, parse_form, percent_decode};

/// The path prefix of the Lambda API version this module speaks.
pub const API_PREFIX: &str = "/2015-03-31/";

/// The `/YYYY-MM-DD/` API date a path starts with, as Lambda's restJson
/// paths do (`/2015-03-31/functions`, `/2017-10-31/functions/F/concurrency`).
pub fn api_date_prefix(path: &str) -> Option<&str> {
    let date = path.get(..12)?;
    let bytes = date.as_bytes();
    let shaped = bytes.iter().enumerate().all(|(i, b)| match i {
        0 | 11 => *b == b'/',
        5 | 8 => *b == b'-',
        _ => b.is_ascii_digit(),
    });
    shaped.then_some(date)
}

/// The name of a Lambda operation this local cloud does not implement,
/// from its API date, method and path, so that the error names it.
fn unimplemented_operation(date: &str, method: &str, segments: &[&str]) -> Option<&'static str> {
    Some(match (date, method, segments) {
        ("/2019-09-30/", "PUT", ["functions", _, "provisioned-concurrency"]) => {
            "PutProvisionedConcurrencyConfig"
        }
        _ => return None,
    })
}

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
    let date = api_date_prefix(&request.path).unwrap_or_default();
    let path = request.path.get(date.len()..).unwrap_or_default();
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
    let not_implemented = || {
        let operation = match unimplemented_operation(date, method, &segments) {
            Some(name) => format!("{name} ({method} {})", request.path),
            None => format!("{method} {}", request.path),
        };
        Err(ApiError::new(
            ErrorCode::NotImplementedException,
            format!("streamgate-local does not implement the Lambda operation {operation} yet"),
        ))
    };
    let under_other_date = match (date, method, segments.as_slice()) {
        ("/2017-03-31/", "GET", ["tags", arn]) => Some(tags::list_tags(cloud, caller, arn)),
        ("/2017-03-31/", "POST", ["tags", arn]) => {
            Some(tags::tag_resource(cloud, caller, arn, &request.body))
        }
        ("/2017-03-31/", "DELETE", ["tags", arn]) => {
            Some(tags::untag_resource(cloud, caller, arn, &query))
        }
        ("/2017-10-31/", "PUT", ["functions", name, "concurrency"]) => {
            Some(concurrency::put(cloud, caller, region, name, &request.body))
        }
        ("/2017-10-31/", "DELETE", ["functions", name, "concurrency"]) => {
            Some(concurrency::delete(cloud, caller, region, name))
        }
        ("/2019-09-30/", "GET", ["functions", name, "concurrency"]) => {
            Some(concurrency::get(cloud, caller, region, name))
        }
        ("/2016-08-19/", "GET", ["account-settings"]) => {
            Some(concurrency::account_settings(cloud, caller, region))
        }
        ("/2019-09-25/", "PUT" | "POST", ["functions", name, "event-invoke-config"]) => {
            Some(event_config::put(
                cloud,
                caller,
                region,
                name,
                qualifier,
                &request.body,
                method == "PUT",
            ))
        }
        ("/2019-09-25/", "GET", ["functions", name, "event-invoke-config"]) => {
            Some(event_config::get(cloud, caller, region, name, qualifier))
        }
        ("/2019-09-25/", "DELETE", ["functions", name, "event-invoke-config"]) => {
            Some(event_config::delete(cloud, caller, region, name, qualifier))
        }
        ("/2019-09-25/", "GET", ["functions", name, "event-invoke-config", "list"]) => {
            Some(event_config::list(cloud, caller, region, name, &query))
        }
        _ => None,
    };
    if let Some(answer) = under_other_date {
        return answer;
    }
    if date == urls::API_PREFIX {
        return match (method, segments.as_slice()) {
            ("POST", ["functions", name, "url"]) => {
                urls::create(cloud, caller, region, name, qualifier, &request.body)
            }
            ("GET", ["functions", name, "url"]) => {
                urls::get(cloud, caller, region, name, qualifier)
            }
            ("PUT", ["functions", name, "url"]) => {
                urls::update(cloud, caller, region, name, qualifier, &request.body)
            }
            ("DELETE", ["functions", name, "url"]) => {
                urls::delete(cloud, caller, region, name, qualifier)
            }
            ("GET", ["functions", name, "urls"]) => urls::list(cloud, caller, region, name, &query),
            _ => not_implemented(),
        };
    }
    if date != API_PREFIX {
        return not_implemented();
    }
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
            versions::list_versions(cloud, caller, region, name, &query)
        }
        ("GET", ["functions", name, "aliases"]) => {
            versions::list_aliases(cloud, caller, region, name, &query)
        }
        ("GET", ["functions", name, "aliases", alias]) => {
            versions::get_alias(cloud, caller, region, name, alias)
        }
        ("PUT", ["functions", name, "aliases", alias]) => {
            versions::update_alias(cloud, caller, region, name, alias, &request.body)
        }
        ("DELETE", ["functions", name, "aliases", alias]) => {
            versions::delete_alias(cloud, caller, region, name, alias)
        }
        ("POST", ["functions", name, "policy"]) => {
            permissions::add(cloud, caller, region, name, qualifier, &request.body)
        }
        ("GET", ["functions", name, "policy"]) => {
            permissions::get(cloud, caller, region, name, qualifier)
        }
        ("DELETE", ["functions", name, "policy", sid]) => {
            permissions::remove(cloud, caller, region, name, sid, &query)
        }
        ("DELETE", ["functions", name]) => {
            functions::delete(cloud, caller, region, name, qualifier)
        }
        _ => not_implemented(),
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
        // Operations under Lambda's other API dates are restJson too.
        check(
            "PUT",
            "/2017-10-31/functions/absent/concurrency",
            expect![[
                r#"400 [("x-amzn-errortype", "SerializationException")] {"Type":"User","message":"EOF while parsing a value at line 1 column 0"}"#
            ]],
        );
        check(
            "GET",
            "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aeu-west-1%3A111111111111%3Afunction%3Aabsent",
            expect![[
                r#"404 [("x-amzn-errortype", "ResourceNotFoundException")] {"Type":"User","message":"Function not found: arn:aws:lambda:eu-west-1:111111111111:function:absent"}"#
            ]],
        );
        check(
            "PUT",
            "/2019-09-30/functions/absent/provisioned-concurrency",
            expect![[
                r#"501 [("x-amzn-errortype", "NotImplementedException")] {"Type":"Service","message":"streamgate-local does not implement the Lambda operation PutProvisionedConcurrencyConfig (PUT /2019-09-30/functions/absent/provisioned-concurrency) yet"}"#
            ]],
        );
        // A 2015-03-31 route under another date is not that route.
        check(
            "GET",
            "/2021-10-31/functions",
            expect![[
                r#"501 [("x-amzn-errortype", "NotImplementedException")] {"Type":"Service","message":"streamgate-local does not implement the Lambda operation GET /2021-10-31/functions yet"}"#
            ]],
        );
        check(
            "GET",
            "/2015-03-31/functions/absent/policy",
            expect![[
                r#"404 [("x-amzn-errortype", "ResourceNotFoundException")] {"Type":"User","message":"Function not found: arn:aws:lambda:eu-west-1:111111111111:function:absent"}"#
            ]],
        );
    }
}
