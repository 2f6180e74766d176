//! The OAuth flow an MCP client goes through with a running local-dev, over HTTP:
//! dynamic registration, the user's consent decision (made with a REST token, as the
//! consent page makes it) and the code exchange with PKCE.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Reply, Server};

/// RFC 7636's example pair: the challenge is the S256 of the verifier.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:33418/callback";

/// What a connected client holds after the code exchange.
#[derive(Debug)]
pub struct Connection {
    pub client_id: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A `POST /oauth/token` with `pairs` as its form.
pub async fn token_request(server: &Server, pairs: &[(&str, &str)]) -> Reply {
    let request = server.request(Method::POST, "/oauth/token").form(pairs);
    server.raw(request).await
}

fn param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value.to_owned())
}

fn string(body: &Value, key: &str) -> String {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {body}"))
        .to_owned()
}

/// What an MCP client connecting as `client_name` ends up with after the user (holder
/// of `token`) allowed `scopes` on `contexts`, for local-dev's `/mcp`.
pub async fn connect(
    server: &Server,
    token: &str,
    client_name: &str,
    scopes: Value,
    contexts: Value,
) -> Connection {
    let registered = server
        .post(
            "/oauth/register",
            None,
            json!({"redirect_uris": [REDIRECT], "client_name": client_name,
                   "token_endpoint_auth_method": "none"}),
        )
        .await;
    let client_id = string(registered.expect(StatusCode::CREATED), "client_id");
    let decided = server
        .post(
            "/oauth/authorize",
            Some(token),
            json!({
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT,
                "code_challenge": CHALLENGE,
                "code_challenge_method": "S256",
                "state": "s",
                "decision": "allow",
                "scopes": scopes,
                "contexts": contexts,
            }),
        )
        .await;
    let redirect_to = string(decided.expect(StatusCode::OK), "redirect_to");
    let code = param(&redirect_to, "code").expect("a code");
    let resource = format!("{}/mcp", server.url);
    let tokens = token_request(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", REDIRECT),
            ("client_id", &client_id),
            ("resource", &resource),
        ],
    )
    .await;
    let tokens = tokens.expect(StatusCode::OK);
    Connection {
        access_token: string(tokens, "access_token"),
        refresh_token: string(tokens, "refresh_token"),
        client_id,
    }
}
