//! The one request each function is sent, as API Gateway (HTTP API, payload 2.0) sends it.

use serde_json::{Value, json};

/// A request a function answers without its store or a password hash, so that the first
/// response times the runtime, the routing and the handler, not DynamoDB or argon2 (no
/// DynamoDB is reachable from the benchmark, and none is wanted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub method: &'static str,
    pub path: &'static str,
    pub body: Option<&'static str>,
    /// The status the function must answer; another one means the request took a path
    /// the benchmark does not mean to time, and the run fails.
    pub expected_status: Option<u16>,
}

impl Probe {
    /// The request for the function called `name`, or `name@label` (to set two builds of
    /// one function side by side); any other name gets `GET /`, whatever it answers.
    pub fn for_function(name: &str) -> Self {
        let function = name.split_once('@').map_or(name, |(function, _)| function);
        let (method, path, body, expected_status) = match function {
            // Refused while parsing, before the signup throttle or the hash.
            "signup" => (
                "POST",
                "/auth/signup/individual",
                Some(r#"{"email":"not an email","password":"","name":""}"#),
                Some(400),
            ),
            "login" => ("GET", "/auth/me", None, Some(401)),
            "contexts" => ("GET", "/contexts", None, Some(401)),
            "orgs" => (
                "GET",
                "/orgs/01J9Z3V8K2M4N6P8Q0R2S4T6V8/members",
                None,
                Some(401),
            ),
            "oauth" => ("GET", "/auth/grants", None, Some(401)),
            // The OAuth guard refuses it before the MCP service or the store.
            "mcp" => (
                "POST",
                "/mcp",
                Some(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
                Some(401),
            ),
            "pages" => ("GET", "/login", None, Some(200)),
            "hello" => ("GET", "/", None, Some(200)),
            _ => ("GET", "/", None, None),
        };
        Self {
            method,
            path,
            body,
            expected_status,
        }
    }

    /// The invocation event, shaped as lambda_http's own API Gateway v2 fixtures.
    pub fn event(&self) -> Value {
        let mut headers = json!({
            "accept": "application/json",
            "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "user-agent": "mem0-bench",
            "x-amzn-trace-id": "Root=1-5eb33c07-de25b420912dee103a5db434",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        });
        if let Some(body) = self.body {
            headers["content-type"] = json!("application/json");
            headers["content-length"] = json!(body.len().to_string());
        }
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abcdef1234",
                "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abcdef1234",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.7",
                    "userAgent": "mem0-bench",
                },
                "requestId": "bench-request",
                "routeKey": "$default",
                "stage": "$default",
                "time": "06/May/2020:22:36:55 +0000",
                "timeEpoch": 1_588_804_615_616_u64,
            },
            "body": self.body,
            "isBase64Encoded": false,
        })
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;

    use super::*;

    #[test]
    fn every_probe_is_an_api_gateway_v2_request_that_lambda_http_reads_back() {
        for name in [
            "signup", "login", "contexts", "orgs", "oauth", "mcp", "pages", "hello", "other",
        ] {
            let probe = Probe::for_function(name);
            let request = lambda_http::request::from_str(&probe.event().to_string()).unwrap();
            assert_eq!(request.method().as_str(), probe.method, "{name}");
            assert_eq!(request.uri().path(), probe.path, "{name}");
            assert_eq!(
                request.body().as_ref(),
                probe.body.unwrap_or("").as_bytes(),
                "{name}"
            );
            let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
                panic!("{name}: not read as an API Gateway v2 request");
            };
            assert_eq!(context.http.source_ip.as_deref(), Some("203.0.113.7"));
        }
    }

    #[test]
    fn the_api_functions_are_sent_requests_they_refuse_before_their_store() {
        assert_eq!(Probe::for_function("signup").expected_status, Some(400));
        for function in ["login", "contexts", "orgs", "oauth", "mcp"] {
            assert_eq!(Probe::for_function(function).expected_status, Some(401));
        }
        assert_eq!(Probe::for_function("unknown").expected_status, None);
    }

    #[test]
    fn a_labelled_name_gets_its_function_s_request() {
        assert_eq!(
            Probe::for_function("signup@before"),
            Probe::for_function("signup")
        );
        assert_eq!(Probe::for_function("signup-before").expected_status, None);
    }
}
