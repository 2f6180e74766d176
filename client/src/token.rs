//! What the client can tell about a token without the server: its expiry, read from the
//! payload without checking the signature. Only for messages; the server decides.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Deserialize)]
struct Payload {
    exp: Option<i64>,
    iat: Option<i64>,
}

fn payload(token: &str) -> Option<Payload> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Payload>(&bytes).ok()
}

/// When the token expires (Unix seconds), if it says.
pub fn expiry(token: &str) -> Option<i64> {
    payload(token)?.exp
}

/// Whether it is time to trade the token for a new one: once 80% of its lifetime
/// (`exp - iat`) has passed, so a slow refresh still lands before it expires. A token
/// without `iat` is due once expired; one without `exp` never is (the server's 401
/// still triggers a refresh). `now_ms` is Unix milliseconds: a 2 s token is due at 1.6 s.
pub fn refresh_due(token: &str, now_ms: i64) -> bool {
    let Some(Payload {
        exp: Some(exp),
        iat,
    }) = payload(token)
    else {
        return false;
    };
    let (exp, now) = (i128::from(exp) * 1000, i128::from(now_ms));
    match iat.map(|iat| i128::from(iat) * 1000) {
        // 5 * elapsed >= 4 * lifetime, in i128: claims are input and may be anything.
        Some(iat) => 5 * (now - iat) >= 4 * (exp - iat),
        None => now >= exp,
    }
}

pub fn now_ms() -> i64 {
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    i64::try_from(now).unwrap_or(i64::MAX)
}

pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// `2026-01-02T03:04:05Z`, or the raw number if it is out of range.
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// An RFC 3339 time from the API as `2026-01-02 03:04 UTC`; unchanged if it doesn't parse.
pub fn short_time(rfc3339: &str) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()
        .and_then(|at| at.to_offset(time::UtcOffset::UTC).format(format).ok())
        .unwrap_or_else(|| rfc3339.to_owned())
}

/// "in 23 h 59 min" / "2 h 5 min ago".
pub fn relative(unix: i64) -> String {
    let delta = unix - now();
    let minutes = delta.unsigned_abs() / 60;
    let span = match (minutes / (24 * 60), minutes / 60 % 24, minutes % 60) {
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    };
    if delta >= 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":1700000000,"user_id":1}"#);
        assert_eq!(expiry(&format!("eyJh.{payload}.sig")), Some(1_700_000_000));
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            short_time("2023-11-14T22:13:20.123456Z"),
            "2023-11-14 22:13 UTC"
        );
        assert_eq!(short_time("yesterday"), "yesterday");
        assert_eq!(expiry("not a token"), None);
        assert_eq!(expiry("a.!!!.c"), None);
    }

    fn token_with(claims: &str) -> String {
        format!("eyJh.{}.sig", URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn a_token_is_due_for_refresh_after_80_percent_of_its_lifetime() {
        // Issued at 1000 s for 10 s: due from 1008 s on.
        let token = token_with(r#"{"iat":1000,"exp":1010}"#);
        assert!(!refresh_due(&token, 1_000_000));
        assert!(!refresh_due(&token, 1_007_999));
        assert!(refresh_due(&token, 1_008_000));
        assert!(refresh_due(&token, 1_020_000), "expired is due too");
        // A 2 s token: due at 1.6 s, not only once whole seconds have passed.
        let short = token_with(r#"{"iat":1000,"exp":1002}"#);
        assert!(!refresh_due(&short, 1_001_599));
        assert!(refresh_due(&short, 1_001_600));
    }

    #[test]
    fn tokens_without_the_claims_or_with_absurd_ones_do_not_panic() {
        assert!(!refresh_due("not a token", 0));
        assert!(!refresh_due(&token_with(r#"{"iat":1000}"#), i64::MAX));
        let no_iat = token_with(r#"{"exp":1000}"#);
        assert!(!refresh_due(&no_iat, 999_999));
        assert!(refresh_due(&no_iat, 1_000_000));
        let extreme = token_with(&format!(r#"{{"iat":{},"exp":{}}}"#, i64::MIN, i64::MAX));
        assert!(!refresh_due(&extreme, 0));
        assert!(
            !refresh_due(&extreme, i64::MAX),
            "80% of that lifetime is beyond i64"
        );
        let backwards = token_with(r#"{"iat":2000,"exp":1000}"#);
        assert!(
            refresh_due(&backwards, 1_500_000),
            "a nonsense lifetime is refreshed at once"
        );
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(now() + 90 * 60 + 30), "in 1 h 30 min");
        assert_eq!(relative(now() - 3 * 24 * 3600 - 7200 - 30), "3 d 2 h ago");
    }
}
