//! The OAuth parameters parsed once: redirect URIs, client names, PKCE, codes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::{Host, Url};

/// Most redirect URIs one client registers.
pub(crate) const MAX_REDIRECT_URIS: usize = 10;
/// Longest redirect URI, in bytes.
pub(crate) const MAX_REDIRECT_URI_BYTES: usize = 2000;
/// Longest client name, in characters.
pub(crate) const MAX_CLIENT_NAME_CHARS: usize = 100;
pub(crate) const DEFAULT_CLIENT_NAME: &str = "Unnamed app";

/// Schemes a browser runs or reads locally rather than hands to an app: never a
/// redirect target.
const REFUSED_SCHEMES: [&str; 7] = [
    "javascript",
    "data",
    "file",
    "vbscript",
    "about",
    "blob",
    "ftp",
];

/// Why a redirect URI is refused, for `error_description`.
pub(crate) fn check_redirect_uri(raw: &str) -> Result<(), String> {
    if raw.len() > MAX_REDIRECT_URI_BYTES {
        return Err(format!(
            "A redirect URI is at most {MAX_REDIRECT_URI_BYTES} bytes."
        ));
    }
    if raw.contains('#') {
        return Err("A redirect URI has no fragment (#).".into());
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("A redirect URI has no spaces or control characters.".into());
    }
    let url = Url::parse(raw).map_err(|_| format!("{raw:?} is not an absolute URI."))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("A redirect URI carries no user name or password.".into());
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(url.host()) => Ok(()),
        "http" | "https" => Err(
            "A redirect URI is https, or http only on a loopback host (127.0.0.1, [::1], localhost)."
                .into(),
        ),
        scheme if REFUSED_SCHEMES.contains(&scheme) => {
            Err(format!("The scheme {scheme}: is not a redirect target."))
        }
        // An app's own scheme (cursor://, vscode://): the operating system hands it over.
        _ => Ok(()),
    }
}

fn is_loopback(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// Where a redirect URI leads, as the consent page names it: its host, or for an app's
/// own scheme, the scheme.
pub(crate) fn redirect_target(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(url) => match url.host_str() {
            Some(host) if !host.is_empty() => host.to_owned(),
            _ => format!("{}:", url.scheme()),
        },
        Err(_) => raw.to_owned(),
    }
}

/// A client name as kept: control characters removed, trimmed, the default if empty;
/// `None` if it is longer than [`MAX_CLIENT_NAME_CHARS`].
pub(crate) fn client_name(raw: Option<&str>) -> Option<String> {
    let cleaned: String = raw
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().count() > MAX_CLIENT_NAME_CHARS {
        return None;
    }
    Some(if cleaned.is_empty() {
        DEFAULT_CLIENT_NAME.to_owned()
    } else {
        cleaned.to_owned()
    })
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`; a challenge (the
/// base64url SHA-256 of one) has the same alphabet.
fn is_pkce_string(raw: &str) -> bool {
    (43..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A `code_challenge` as sent with the authorization request.
pub(crate) fn is_code_challenge(raw: &str) -> bool {
    is_pkce_string(raw)
}

/// Whether `verifier` is the one `challenge` (`S256`) was made from; compared in
/// constant time.
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    if !is_pkce_string(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// A new authorization code: 256 random bits, base64url.
pub(crate) fn new_code() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What the store keeps of a code: its SHA-256, hex.
pub(crate) fn code_digest(code: &str) -> String {
    Sha256::digest(code.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_loopback_http_and_app_schemes_are_redirect_targets() {
        for good in [
            "https://app.example.com/callback",
            "http://127.0.0.1:1234/cb",
            "http://[::1]:8080/cb",
            "http://localhost/cb",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
            "vscode://vscode.github-authentication/did-authenticate",
            "cursor://x",
        ] {
            assert_eq!(check_redirect_uri(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn plain_http_elsewhere_fragments_and_script_schemes_are_refused() {
        for bad in [
            "http://evil.example/cb",
            "http://127.0.0.2/cb",
            "http://localhost.evil.example/cb",
            "https://app.example.com/cb#frag",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "https://user:pw@app.example.com/cb",
            "/relative/cb",
            "https://app.example.com/a b",
            "",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        let long = format!("https://app.example.com/{}", "a".repeat(2000));
        assert!(check_redirect_uri(&long).is_err());
    }

    #[test]
    fn client_names_lose_control_characters_and_default() {
        assert_eq!(
            client_name(Some(" Claude\u{7}\n ")).as_deref(),
            Some("Claude")
        );
        assert_eq!(client_name(None).as_deref(), Some(DEFAULT_CLIENT_NAME));
        assert_eq!(
            client_name(Some("\u{1b}")).as_deref(),
            Some(DEFAULT_CLIENT_NAME)
        );
        assert_eq!(
            client_name(Some(&"é".repeat(100))).map(|n| n.chars().count()),
            Some(100)
        );
        assert_eq!(client_name(Some(&"a".repeat(101))), None);
    }

    #[test]
    fn the_pkce_verifier_must_hash_to_the_challenge() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_code_challenge(challenge));
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            challenge
        ));
        assert!(!pkce_matches(challenge, challenge));
        assert!(!pkce_matches("short", challenge));
    }

    #[test]
    fn the_consent_page_names_the_host_or_the_app_scheme() {
        assert_eq!(
            redirect_target("https://app.example.com/cb"),
            "app.example.com"
        );
        assert_eq!(redirect_target("http://127.0.0.1:1234/cb"), "127.0.0.1");
        assert_eq!(redirect_target("cursor://x/cb"), "x");
        assert_eq!(redirect_target("com.example.app:/cb"), "com.example.app:");
    }

    #[test]
    fn a_code_digest_is_hex_sha256() {
        assert_eq!(code_digest("abc").len(), 64);
        assert_ne!(code_digest(&new_code()), code_digest(&new_code()));
    }
}
