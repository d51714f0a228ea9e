//! SigV4 verification: the signature of every request is recomputed from
//! what was received and compared with the one sent.
//!
//! Written on `hmac` and `sha2` rather than `aws-sigv4` because a verifier
//! must rebuild the canonical request from exactly the headers the client
//! listed in `SignedHeaders`, with the values as received, while `aws-sigv4`
//! is a signer: it chooses which headers to sign and adds its own, so it
//! cannot reproduce an arbitrary client's canonical request.

use crate::clock;
use crate::error::{ApiError, ErrorCode};
use crate::wire::{ReceivedRequest, hex, percent_decode, percent_encode};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// How far a request's time may be from the server's: 15 minutes.
pub const MAX_SKEW_MILLIS: u64 = 15 * 60 * 1000;

/// What the `Authorization` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id from the credential scope.
    pub access_key_id: String,
    /// The scope's date, `YYYYMMDD`.
    pub date: String,
    /// The scope's region.
    pub region: String,
    /// The scope's service (`dynamodb` for DynamoDB Streams too).
    pub service: String,
    /// Lowercase header names in the order the client listed them.
    pub signed_headers: Vec<String>,
    /// The hex signature.
    pub signature: String,
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::IncompleteSignatureException, message)
}

/// Parses the `Authorization` header of `request`.
pub fn parse_authorization(request: &ReceivedRequest) -> Result<Authorization, ApiError> {
    let Some(header) = request.header("authorization") else {
        return Err(ApiError::new(
            ErrorCode::MissingAuthenticationTokenException,
            "Request is missing Authentication Token",
        ));
    };
    let Some(rest) = header.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(incomplete(format!(
            "Authorization header requires the 'AWS4-HMAC-SHA256' algorithm. Authorization={header}"
        )));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(value) = part.strip_prefix("Credential=") {
            credential = Some(value);
        } else if let Some(value) = part.strip_prefix("SignedHeaders=") {
            signed = Some(value);
        } else if let Some(value) = part.strip_prefix("Signature=") {
            signature = Some(value);
        }
    }
    let mut missing = Vec::new();
    for (name, value) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed),
    ] {
        if value.is_none() {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(incomplete(format!(
            "{} Authorization={header}",
            missing.join(" ")
        )));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid region, not a malformed scope: {credential}"
        )));
    };
    if *terminator != "aws4_request" {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'"
        )));
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_ascii_lowercase).collect();
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(Authorization {
        access_key_id: (*access_key_id).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// Checks the time of `request` against `now_millis` (the wall clock) and its
/// signature against `secret`.
pub fn verify(
    request: &ReceivedRequest,
    authorization: &Authorization,
    secret: &str,
    now_millis: u64,
) -> Result<(), ApiError> {
    // A `Date` header in ISO 8601 basic format may stand in for
    // `X-Amz-Date`, which wins when both are sent.
    let Some(amz_date) = request
        .header("x-amz-date")
        .or_else(|| request.header("date"))
    else {
        return Err(incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let Some(signed_at) = clock::parse_amz_date(amz_date) else {
        return Err(incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    if signed_at + MAX_SKEW_MILLIS < now_millis {
        return Err(ApiError::new(
            ErrorCode::InvalidSignatureException,
            format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
                clock::amz_date(now_millis - MAX_SKEW_MILLIS),
                clock::amz_date(now_millis)
            ),
        ));
    }
    if signed_at > now_millis + MAX_SKEW_MILLIS {
        return Err(ApiError::new(
            ErrorCode::InvalidSignatureException,
            format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
                clock::amz_date(now_millis + MAX_SKEW_MILLIS),
                clock::amz_date(now_millis)
            ),
        ));
    }
    if amz_date.get(..8) != Some(authorization.date.as_str()) {
        return Err(ApiError::new(
            ErrorCode::InvalidSignatureException,
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                authorization.date,
                amz_date.get(..8).unwrap_or(amz_date)
            ),
        ));
    }
    let body_hash = hex(&Sha256::digest(&request.body));
    let payload_hash = match request.header("x-amz-content-sha256") {
        Some("UNSIGNED-PAYLOAD") => "UNSIGNED-PAYLOAD".to_owned(),
        Some(sent) if sent != body_hash => {
            return Err(ApiError::new(
                ErrorCode::InvalidSignatureException,
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ));
        }
        _ => body_hash,
    };
    let canonical = canonical_request(request, &authorization.signed_headers, &payload_hash);
    let scope = format!(
        "{}/{}/{}/aws4_request",
        authorization.date, authorization.region, authorization.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(
        secret,
        &authorization.date,
        &authorization.region,
        &authorization.service,
    );
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), authorization.signature.as_bytes()) {
        return Err(ApiError::new(
            ErrorCode::InvalidSignatureException,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(())
}

/// The canonical request of SigV4 for `request`, signing `signed_headers`.
pub fn canonical_request(
    request: &ReceivedRequest,
    signed_headers: &[String],
    payload_hash: &str,
) -> String {
    // Services other than S3 sign the path with its dot segments removed,
    // then encode the already-encoded path once more.
    let canonical_uri = percent_encode(&remove_dot_segments(&request.path), true);
    let mut query: Vec<(String, String)> = request
        .query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_encode(&percent_decode(key, false), false),
                percent_encode(&percent_decode(value, false), false),
            )
        })
        .collect();
    query.sort();
    let canonical_query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut canonical_headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = request
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
    }
    format!(
        "{}\n{canonical_uri}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        request.method,
        canonical_query.join("&"),
        signed_headers.join(";")
    )
}

/// The absolute path with `.` and `..` segments resolved as RFC 3986
/// (section 5.2.4) resolves them; empty segments stay, as the SDKs keep them.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            "." => {}
            ".." => {
                output.pop();
            }
            other => {
                output.push(other);
                continue;
            }
        }
        // A path ending in a dot segment names a directory: keep its slash.
        if last {
            output.push("");
        }
    }
    format!("/{}", output.join("/"))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The SigV4 signing key for a secret and scope.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Signs `request` in place as a client would (adds `x-amz-date` and an
/// `authorization` signing every header present), for tests and benches that
/// need requests no SDK sends, or the same request many times.
pub fn sign(
    request: &mut ReceivedRequest,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    at_millis: u64,
) {
    let amz_date = clock::amz_date(at_millis);
    let date = amz_date.get(..8).unwrap_or_default().to_owned();
    request
        .headers
        .push(("x-amz-date".into(), amz_date.clone()));
    let mut signed: Vec<String> = request.headers.iter().map(|(n, _)| n.clone()).collect();
    signed.sort();
    signed.dedup();
    let payload = hex(&Sha256::digest(&request.body));
    let canonical = canonical_request(request, &signed, &payload);
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let signature = hex(&hmac(
        &signing_key(secret, &date, region, service),
        to_sign.as_bytes(),
    ));
    request.headers.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={signature}",
            signed.join(";")
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    const NOW: u64 = 1_714_564_800_000;

    fn request(body: &str) -> ReceivedRequest {
        ReceivedRequest {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![
                ("host".into(), "127.0.0.1:4577".into()),
                ("x-amz-target".into(), "DynamoDB_20120810.ListTables".into()),
            ],
            body: body.to_owned().into(),
        }
    }

    fn signed(body: &str, secret: &str, at: u64) -> ReceivedRequest {
        let mut request = request(body);
        sign(
            &mut request,
            "111111111111",
            secret,
            "eu-west-1",
            "dynamodb",
            at,
        );
        request
    }

    fn check(request: &ReceivedRequest, expected: Expect) {
        let outcome = parse_authorization(request)
            .and_then(|auth| verify(request, &auth, "streamgate-local", NOW).map(|()| auth));
        let text = match outcome {
            Ok(auth) => format!("ok {} {} {}", auth.access_key_id, auth.region, auth.service),
            Err(error) => error.to_string(),
        };
        expected.assert_eq(&text);
    }

    #[test]
    fn accepts_a_good_signature() {
        check(
            &signed("{}", "streamgate-local", NOW),
            expect!["ok 111111111111 eu-west-1 dynamodb"],
        );
        check(
            &signed("{}", "streamgate-local", NOW - MAX_SKEW_MILLIS + 1000),
            expect!["ok 111111111111 eu-west-1 dynamodb"],
        );
    }

    #[test]
    fn rejects_a_wrong_secret_a_changed_body_and_skew() {
        check(
            &signed("{}", "wrong", NOW),
            expect![
                "InvalidSignatureException: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
            ],
        );
        let mut tampered = signed("{}", "streamgate-local", NOW);
        tampered.body = "{\"Limit\":1}".into();
        check(
            &tampered,
            expect![
                "InvalidSignatureException: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
            ],
        );
        let mut declared = signed("{}", "streamgate-local", NOW);
        declared
            .headers
            .push(("x-amz-content-sha256".into(), "00".into()));
        check(
            &declared,
            expect![
                "InvalidSignatureException: The provided 'x-amz-content-sha256' header does not match what was computed."
            ],
        );
        check(
            &signed("{}", "streamgate-local", NOW - 16 * 60 * 1000),
            expect![
                "InvalidSignatureException: Signature expired: 20240501T114400Z is now earlier than 20240501T114500Z (20240501T120000Z - 15 min.)"
            ],
        );
        check(
            &signed("{}", "streamgate-local", NOW + 16 * 60 * 1000),
            expect![
                "InvalidSignatureException: Signature not yet current: 20240501T121600Z is still later than 20240501T121500Z (20240501T120000Z + 15 min.)"
            ],
        );
    }

    #[test]
    fn rejects_missing_and_incomplete_headers() {
        check(
            &request("{}"),
            expect!["MissingAuthenticationTokenException: Request is missing Authentication Token"],
        );
        let mut partial = request("{}");
        partial.headers.push((
            "authorization".into(),
            "AWS4-HMAC-SHA256 Credential=111111111111/20240501/eu-west-1/dynamodb/aws4_request"
                .into(),
        ));
        check(
            &partial,
            expect![
                "IncompleteSignatureException: Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=111111111111/20240501/eu-west-1/dynamodb/aws4_request"
            ],
        );
        let mut undated = signed("{}", "streamgate-local", NOW);
        undated.headers.retain(|(n, _)| n != "x-amz-date");
        check(
            &undated,
            expect![
                "IncompleteSignatureException: Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            ],
        );
    }

    /// `request("{}")` signed by hand with a `Date` header of `date_value`
    /// standing for `X-Amz-Date` at `at`.
    fn signed_with_date_header(date_value: &str, at: u64) -> ReceivedRequest {
        let mut request = request("{}");
        request.headers.push(("date".into(), date_value.to_owned()));
        let amz_date = clock::amz_date(at);
        let day = &amz_date[..8];
        let signed = ["date", "host", "x-amz-target"].map(str::to_owned);
        let canonical = canonical_request(&request, &signed, &hex(&Sha256::digest(b"{}")));
        let scope = format!("{day}/eu-west-1/dynamodb/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let key = signing_key("streamgate-local", day, "eu-west-1", "dynamodb");
        let signature = hex(&hmac(&key, to_sign.as_bytes()));
        request.headers.push((
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential=111111111111/{scope}, SignedHeaders=date;host;x-amz-target, Signature={signature}"
            ),
        ));
        request
    }

    #[test]
    fn a_date_header_in_basic_format_stands_for_x_amz_date() {
        check(
            &signed_with_date_header(&clock::amz_date(NOW), NOW),
            expect!["ok 111111111111 eu-west-1 dynamodb"],
        );
        check(
            &signed_with_date_header("Wed, 01 May 2024 12:00:00 GMT", NOW),
            expect![
                "IncompleteSignatureException: Date must be in ISO-8601 'basic format'. Got 'Wed, 01 May 2024 12:00:00 GMT'. See http://en.wikipedia.org/wiki/ISO_8601"
            ],
        );
        let mut both = signed("{}", "streamgate-local", NOW);
        both.headers
            .push(("date".into(), clock::amz_date(NOW - 60 * 60 * 1000)));
        check(&both, expect!["ok 111111111111 eu-west-1 dynamodb"]);
    }

    #[test]
    fn the_canonical_path_has_its_dot_segments_removed() {
        let paths = [
            "",
            "/",
            "/a/./b/../c",
            "/a/b/..",
            "/a/b/.",
            "/..",
            "/a//b/",
            "/2015-03-31/functions/f/../g/invocations",
        ];
        let text: Vec<String> = paths
            .iter()
            .map(|path| {
                let mut request = request("");
                request.path = (*path).to_owned();
                let canonical = canonical_request(&request, &[], "e3b0");
                let uri = canonical.lines().nth(1).unwrap_or_default().to_owned();
                format!("{path:?} -> {uri}")
            })
            .collect();
        expect![[r#"
            "" -> /
            "/" -> /
            "/a/./b/../c" -> /a/c
            "/a/b/.." -> /a/
            "/a/b/." -> /a/b/
            "/.." -> /
            "/a//b/" -> /a//b/
            "/2015-03-31/functions/f/../g/invocations" -> /2015-03-31/functions/g/invocations"#]]
        .assert_eq(&text.join("\n"));
    }

    #[test]
    fn canonical_request_sorts_the_query_and_encodes_the_path_twice() {
        let mut request = request("");
        request.method = "GET".into();
        request.path = "/2015-03-31/functions/arn%3Aaws/invocations".into();
        request.query = "b=2&a=x%20y".into();
        let text = canonical_request(&request, &["host".to_owned()], "e3b0");
        expect![[r#"
            GET
            /2015-03-31/functions/arn%253Aaws/invocations
            a=x%20y&b=2
            host:127.0.0.1:4577

            host
            e3b0"#]]
        .assert_eq(&text);
    }
}
