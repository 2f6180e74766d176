//! Client ID Metadata Documents: a `client_id` that is an `https` URL names a JSON
//! document there that describes the client (`client_id` equal to the URL,
//! `client_name`, `redirect_uris`). It is fetched when a user is asked to consent, and
//! the client is kept in the store (as first seen) for the token endpoint and the
//! connected apps list.
//!
//! Fetching an address a client chose is a server-side request forgery risk, so the
//! fetcher refuses any host that resolves to a private, loopback or otherwise
//! non-public address (and connects to the address it checked, not a second lookup),
//! follows no redirects, waits at most 5 s and reads at most 5 KB. Local runs may allow
//! `http` and private addresses (local-dev's `--allow-insecure-client-metadata`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde::Deserialize;
use store::OAuthClient;
use url::Url;

use super::params;

/// Most bytes of a metadata document.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a document could not be had; for logs only.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// Gets the bytes of the document at `url`.
#[async_trait]
pub trait ClientMetadataFetcher: Send + Sync {
    async fn fetch(&self, url: &Url) -> Result<Bytes, FetchError>;
}

/// The fetcher of an app that serves no authorization endpoints: it fetches nothing.
pub struct NoClientMetadata;

#[async_trait]
impl ClientMetadataFetcher for NoClientMetadata {
    async fn fetch(&self, _: &Url) -> Result<Bytes, FetchError> {
        Err(FetchError(
            "this app fetches no client metadata documents".into(),
        ))
    }
}

/// Whether `client_id` names a metadata document rather than a registered client.
pub(crate) fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// The fetcher of deployed functions and local-dev: HTTPS to public addresses only,
/// unless `allow_insecure`.
pub struct HttpFetcher {
    allow_insecure: bool,
}

impl HttpFetcher {
    pub fn new(allow_insecure: bool) -> Self {
        Self { allow_insecure }
    }
}

/// Whether `ip` is an address of the public internet.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                // 100.64.0.0/10, carrier-grade NAT; 198.18.0.0/15, benchmarking.
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[async_trait]
impl ClientMetadataFetcher for HttpFetcher {
    async fn fetch(&self, url: &Url) -> Result<Bytes, FetchError> {
        let allowed = match url.scheme() {
            "https" => true,
            "http" => self.allow_insecure,
            _ => false,
        };
        if !allowed {
            return Err(FetchError(
                "a metadata document is fetched over https only".into(),
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| FetchError("no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| FetchError("no port".into()))?;
        let addresses: Vec<SocketAddr> = tokio::time::timeout(
            FETCH_TIMEOUT,
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .map_err(|_| FetchError("the lookup timed out".into()))?
        .map_err(|error| FetchError(format!("lookup failed: {error}")))?
        .collect();
        let Some(address) = addresses.first().copied() else {
            return Err(FetchError("the host has no address".into()));
        };
        if !self.allow_insecure && addresses.iter().any(|address| !is_public(address.ip())) {
            return Err(FetchError(
                "the host resolves to a non-public address".into(),
            ));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            // The address just checked, not a second lookup that could answer otherwise.
            .resolve(&host, address)
            .build()
            .map_err(|error| FetchError(format!("no HTTP client: {error}")))?;
        let mut response = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| FetchError(format!("fetch failed: {error}")))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError(format!("answered {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| FetchError(format!("read failed: {error}")))?
        {
            if body.len().saturating_add(chunk.len()) > MAX_DOCUMENT_BYTES {
                return Err(FetchError("the document is larger than 5 KB".into()));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.into())
    }
}

#[derive(Deserialize)]
struct Document {
    client_id: String,
    client_name: Option<String>,
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
}

/// The client a document describes, if it is a valid one for `client_id`.
pub(crate) fn parse_document(
    client_id: &str,
    body: &[u8],
    now: i64,
) -> Result<OAuthClient, FetchError> {
    let document: Document = serde_json::from_slice(body)
        .map_err(|_| FetchError("the document is not client metadata JSON".into()))?;
    if document.client_id != client_id {
        return Err(FetchError("the document's client_id is not its URL".into()));
    }
    if document
        .token_endpoint_auth_method
        .as_deref()
        .is_some_and(|method| method != "none")
    {
        return Err(FetchError("only public clients are accepted".into()));
    }
    if document.redirect_uris.is_empty() || document.redirect_uris.len() > params::MAX_REDIRECT_URIS
    {
        return Err(FetchError("1 to 10 redirect_uris are needed".into()));
    }
    for uri in &document.redirect_uris {
        params::check_redirect_uri(uri).map_err(FetchError)?;
    }
    let client_name = params::client_name(document.client_name.as_deref())
        .ok_or_else(|| FetchError("the client_name is too long".into()))?;
    Ok(OAuthClient {
        client_id: client_id.to_owned(),
        client_name,
        redirect_uris: document.redirect_uris,
        created_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_special_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn a_document_must_name_its_own_url_and_valid_redirect_uris() {
        let url = "https://agent.example.com/client.json";
        let good = format!(
            r#"{{"client_id":"{url}","client_name":"Agent","redirect_uris":["http://127.0.0.1:5/cb"]}}"#
        );
        let client = parse_document(url, good.as_bytes(), 7).unwrap();
        assert_eq!(client.client_name, "Agent");
        assert_eq!(client.redirect_uris, ["http://127.0.0.1:5/cb"]);
        for bad in [
            r#"{"client_id":"https://elsewhere.example.com/c.json","redirect_uris":["http://127.0.0.1:5/cb"]}"#.to_owned(),
            format!(r#"{{"client_id":"{url}","redirect_uris":["http://evil.example/cb"]}}"#),
            format!(r#"{{"client_id":"{url}","redirect_uris":[]}}"#),
            format!(r#"{{"client_id":"{url}","redirect_uris":["cursor://x"],"token_endpoint_auth_method":"private_key_jwt"}}"#),
            "not json".to_owned(),
        ] {
            assert!(parse_document(url, bad.as_bytes(), 7).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_http_fetcher_refuses_plain_http_and_loopback_unless_allowed() {
        let strict = HttpFetcher::new(false);
        let url = Url::parse("http://127.0.0.1:9/client.json").unwrap();
        assert!(strict.fetch(&url).await.is_err());
        let url = Url::parse("https://127.0.0.1:9/client.json").unwrap();
        let refused = strict.fetch(&url).await.unwrap_err();
        assert!(refused.0.contains("non-public"), "{refused}");
    }
}
