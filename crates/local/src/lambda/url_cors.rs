//! The CORS settings of a function URL applied as Lambda applies them: a
//! preflight request (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`) to a URL with `Cors` is answered by
//! Lambda itself, `200` with the configured `Access-Control-*` headers,
//! without authorization and without invoking the function (a browser
//! sends no credentials with a preflight); every other answer through the
//! URL to a request whose `Origin` is allowed carries
//! `Access-Control-Allow-Origin`, `Access-Control-Expose-Headers` and
//! `Access-Control-Allow-Credentials` as configured. Where the function
//! returns a CORS header the configuration also sets, the configuration's
//! wins, as the Lambda guide says.
//!
//! An origin is allowed when `AllowOrigins` lists it (compared without
//! regard to ASCII case) or holds `*`; `Access-Control-Allow-Origin` is
//! then the request's origin, or `*` for a `*` configuration without
//! `AllowCredentials` (browsers refuse `*` with credentials; AWS documents
//! the headers and their sources, not these details, which are this
//! cloud's reading). A request from an origin not allowed gets no CORS
//! header from the configuration, so the browser refuses the response.

use serde_json::Value;

/// A URL's `Cors` object, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsRules {
    allow_origins: Vec<String>,
    allow_methods: Vec<String>,
    allow_headers: Vec<String>,
    expose_headers: Vec<String>,
    allow_credentials: bool,
    max_age: Option<u64>,
}

/// The response headers CORS decides, lowercase.
const CORS_HEADERS: [&str; 6] = [
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-allow-credentials",
    "access-control-max-age",
];

fn strings(cors: &Value, member: &str) -> Vec<String> {
    cors.get(member)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

impl CorsRules {
    /// Reads a `Cors` object as UpdateFunctionUrlConfig stored it (checked
    /// against the model already; members of the wrong type count as
    /// absent).
    pub fn from_config(cors: &Value) -> Self {
        Self {
            allow_origins: strings(cors, "AllowOrigins"),
            allow_methods: strings(cors, "AllowMethods"),
            allow_headers: strings(cors, "AllowHeaders"),
            expose_headers: strings(cors, "ExposeHeaders"),
            allow_credentials: cors.get("AllowCredentials") == Some(&Value::Bool(true)),
            max_age: cors.get("MaxAge").and_then(Value::as_u64),
        }
    }

    /// Whether a request with this method and these headers (lowercase
    /// names) is a CORS preflight.
    pub fn is_preflight(method: &str, has_header: impl Fn(&str) -> bool) -> bool {
        method == "OPTIONS" && has_header("origin") && has_header("access-control-request-method")
    }

    /// `Access-Control-Allow-Origin` for a request from `origin`, or `None`
    /// when the origin is not allowed.
    fn allowed_origin(&self, origin: &str) -> Option<String> {
        let wildcard = self.allow_origins.iter().any(|o| o == "*");
        if wildcard && !self.allow_credentials {
            return Some("*".to_owned());
        }
        let listed = self
            .allow_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin));
        (wildcard || listed).then(|| origin.to_owned())
    }

    /// The headers of Lambda's answer to a preflight from `origin`.
    pub fn preflight_headers(&self, origin: &str) -> Vec<(String, String)> {
        let Some(allowed) = self.allowed_origin(origin) else {
            return Vec::new();
        };
        let mut headers = vec![("access-control-allow-origin".to_owned(), allowed)];
        let mut list = |name: &str, values: &[String]| {
            if !values.is_empty() {
                headers.push((name.to_owned(), values.join(",")));
            }
        };
        list("access-control-allow-methods", &self.allow_methods);
        list("access-control-allow-headers", &self.allow_headers);
        if self.allow_credentials {
            headers.push((
                "access-control-allow-credentials".to_owned(),
                "true".to_owned(),
            ));
        }
        if let Some(seconds) = self.max_age {
            headers.push(("access-control-max-age".to_owned(), seconds.to_string()));
        }
        headers
    }

    /// The CORS headers added to an answer to a request from `origin`.
    fn response_headers(&self, origin: &str) -> Vec<(String, String)> {
        let Some(allowed) = self.allowed_origin(origin) else {
            return Vec::new();
        };
        let mut headers = vec![("access-control-allow-origin".to_owned(), allowed)];
        if !self.expose_headers.is_empty() {
            headers.push((
                "access-control-expose-headers".to_owned(),
                self.expose_headers.join(","),
            ));
        }
        if self.allow_credentials {
            headers.push((
                "access-control-allow-credentials".to_owned(),
                "true".to_owned(),
            ));
        }
        headers
    }

    /// `headers` (lowercase names) of an answer to a request from
    /// `origin`, with the configured CORS headers in place of any the
    /// function set itself.
    pub fn apply(&self, origin: &str, headers: &mut Vec<(String, String)>) {
        let added = self.response_headers(origin);
        if added.is_empty() {
            return;
        }
        headers.retain(|(name, _)| !CORS_HEADERS.contains(&name.as_str()));
        headers.extend(added);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shown(headers: &[(String, String)]) -> String {
        if headers.is_empty() {
            return "no cors headers".to_owned();
        }
        headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn preflights_answer_the_configured_headers_to_allowed_origins() {
        let listed = CorsRules::from_config(&json!({
            "AllowOrigins": ["https://app.example.com"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["content-type", "x-trace"],
            "ExposeHeaders": ["x-kind"],
            "MaxAge": 300,
        }));
        let open = CorsRules::from_config(&json!({"AllowOrigins": ["*"]}));
        let with_credentials =
            CorsRules::from_config(&json!({"AllowOrigins": ["*"], "AllowCredentials": true}));
        let cases = [
            (&listed, "https://app.example.com"),
            (&listed, "HTTPS://APP.EXAMPLE.COM"),
            (&listed, "https://elsewhere.example"),
            (&open, "https://elsewhere.example"),
            (&with_credentials, "https://elsewhere.example"),
        ];
        let shown: Vec<String> = cases
            .iter()
            .map(|(rules, origin)| {
                format!("{origin} -> {}", shown(&rules.preflight_headers(origin)))
            })
            .collect();
        expect_test::expect![[r#"
            https://app.example.com -> access-control-allow-origin: https://app.example.com; access-control-allow-methods: GET,POST; access-control-allow-headers: content-type,x-trace; access-control-max-age: 300
            HTTPS://APP.EXAMPLE.COM -> access-control-allow-origin: HTTPS://APP.EXAMPLE.COM; access-control-allow-methods: GET,POST; access-control-allow-headers: content-type,x-trace; access-control-max-age: 300
            https://elsewhere.example -> no cors headers
            https://elsewhere.example -> access-control-allow-origin: *
            https://elsewhere.example -> access-control-allow-origin: https://elsewhere.example; access-control-allow-credentials: true"#]]
        .assert_eq(&shown.join("\n"));
    }

    #[test]
    fn configured_headers_replace_the_functions_own() {
        let rules = CorsRules::from_config(&json!({
            "AllowOrigins": ["https://app.example.com"],
            "ExposeHeaders": ["x-kind"],
            "AllowCredentials": true,
        }));
        let function_headers = vec![
            ("x-kind".to_owned(), "made".to_owned()),
            ("access-control-allow-origin".to_owned(), "*".to_owned()),
        ];
        let mut allowed = function_headers.clone();
        rules.apply("https://app.example.com", &mut allowed);
        let mut refused = function_headers.clone();
        rules.apply("https://elsewhere.example", &mut refused);
        expect_test::expect![[r#"
            x-kind: made; access-control-allow-origin: https://app.example.com; access-control-expose-headers: x-kind; access-control-allow-credentials: true
            x-kind: made; access-control-allow-origin: *"#]]
        .assert_eq(&format!("{}\n{}", shown(&allowed), shown(&refused)));
    }

    #[test]
    fn a_preflight_is_an_options_request_naming_origin_and_method() {
        let headers = |names: &'static [&'static str]| move |name: &str| names.contains(&name);
        let both: &[&str] = &["origin", "access-control-request-method"];
        let verdicts = [
            CorsRules::is_preflight("OPTIONS", headers(both)),
            CorsRules::is_preflight("OPTIONS", headers(&["origin"])),
            CorsRules::is_preflight("GET", headers(both)),
        ];
        assert_eq!(verdicts, [true, false, false]);
    }
}
