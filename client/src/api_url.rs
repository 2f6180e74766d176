//! The API's address, parsed once. Two decisions hang on it: whether a saved token may
//! go there (only to the server that issued it) and whether anything secret may go
//! there at all (plain http only to this machine).

use std::fmt;
use std::net::IpAddr;

use reqwest::Url;
use serde::{Deserialize, Serialize};

/// An http(s) URL in one canonical spelling (lower-case scheme and host, no default
/// port, no trailing slash), so that two spellings of one server compare equal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiUrl {
    canonical: String,
    https: bool,
    loopback: bool,
}

impl PartialEq for ApiUrl {
    fn eq(&self, other: &Self) -> bool {
        self.canonical == other.canonical
    }
}

impl Eq for ApiUrl {}

impl TryFrom<String> for ApiUrl {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl From<ApiUrl> for String {
    fn from(url: ApiUrl) -> Self {
        url.canonical
    }
}

impl fmt::Display for ApiUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

impl ApiUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let not_http = || {
            format!(
                "{raw:?} is not an http:// or https:// URL (e.g. {})",
                crate::api::DEFAULT_URL
            )
        };
        let url = Url::parse(raw.trim()).map_err(|_| not_http())?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(not_http()),
        };
        let Some(host) = url.host_str().filter(|host| !host.is_empty()) else {
            return Err(not_http());
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "{raw:?} has a user name or password in it; give the server's URL without them (mem0 sends its token in a header)"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{raw:?} has a query (?) or fragment (#); give the server's URL without them"
            ));
        }
        let loopback = is_loopback(host);
        Ok(Self {
            canonical: url.as_str().trim_end_matches('/').to_owned(),
            https,
            loopback,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// Traffic to this machine never crosses a network, so no proxy is wanted there.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// Plain http can be read by anyone on the way, so tokens and passwords go over it
    /// only to this machine.
    pub fn may_carry_secrets(&self) -> bool {
        self.https || self.loopback
    }
}

/// `localhost`, 127.0.0.0/8 and ::1 (also as ::ffff:127.x.y.z). The host comes from the
/// same parser reqwest connects with, so `0x7f.1` is 127.0.0.1 here as it is there.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> ApiUrl {
        ApiUrl::parse(raw).unwrap_or_else(|error| panic!("{raw}: {error}"))
    }

    #[test]
    fn spellings_of_one_server_compare_equal() {
        assert_eq!(url("HTTP://LocalHost:8000/"), url("http://localhost:8000"));
        assert_eq!(
            url("https://api.example.com:443"),
            url("https://api.example.com/")
        );
        assert_eq!(
            url(" https://h.example/prod/ "),
            url("https://h.example/prod")
        );
        assert_eq!(url("http://127.0.0.1:80").as_str(), "http://127.0.0.1");
        assert_ne!(url("https://a.example"), url("https://a.example:8443"));
        assert_ne!(url("https://a.example"), url("http://a.example"));
        assert_ne!(url("https://a.example/prod"), url("https://a.example/dev"));
        assert_ne!(url("http://localhost:8000"), url("http://127.0.0.1:8000"));
        // What looks like the host before the @ is a user name; the host is evil.example.
        assert!(ApiUrl::parse("https://a.example@evil.example").is_err());
    }

    #[test]
    fn only_https_or_this_machine_may_carry_secrets() {
        for local in [
            "http://localhost:8000",
            "http://127.0.0.1:8000",
            "http://127.9.8.7",
            "http://[::1]:8000",
            "http://[::ffff:127.0.0.1]:8000",
            "http://0x7f.1:8000",
            "https://mem0.example.com",
            "https://10.0.0.5",
        ] {
            assert!(url(local).may_carry_secrets(), "{local}");
        }
        for remote in [
            "http://mem0.example.invalid",
            "http://10.0.0.5:8000",
            "http://[::2]",
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
            "http://0.0.0.0:8000",
        ] {
            assert!(!url(remote).may_carry_secrets(), "{remote}");
        }
    }

    #[test]
    fn the_default_url_is_this_machine() {
        assert!(url(crate::api::DEFAULT_URL).is_loopback());
    }

    #[test]
    fn urls_that_are_not_plain_http_servers_are_refused() {
        for bad in [
            "ftp://example",
            "example.com",
            "http://",
            "https://user:pw@example.com",
            "https://example.com/?x=1",
            "https://example.com/#top",
        ] {
            assert!(ApiUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
