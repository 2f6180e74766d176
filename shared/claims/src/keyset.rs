//! The signing key set: every HS256 key a deployment currently trusts, as JSON.
//!
//! ```json
//! {"keys":[
//!   {"kid":"legacy","secret":"<base64url>","created_at":"2026-01-01T00:00:00Z",
//!    "retire_after":"2026-12-03T03:11:30Z"},
//!   {"kid":"01JEX4…","secret":"<base64url>","created_at":"2026-12-02T03:00:00Z",
//!    "signs_from":"2026-12-02T03:10:00Z"}
//! ]}
//! ```
//!
//! - `secret` is the key's bytes in base64url (padding optional), at least
//!   [`MIN_SECRET_BYTES`](crate::MIN_SECRET_BYTES) of them.
//! - `signs_from` (default: `created_at`) is when the key starts signing. Before that it
//!   only verifies, so that every running instance learns it before any token it signed
//!   reaches them (deployed instances read the set once per cold start).
//! - The signing key is the one with the latest `signs_from` that has passed, among the
//!   keys not retired (ties: the latest `created_at`). Every other key listed only
//!   verifies. So the old key keeps signing while the new one is pending.
//! - `retire_after` is when the key stops verifying: at rotation, the moment the new key
//!   starts signing plus one token lifetime plus the leeway, the last moment a token the
//!   old key signed could still be accepted. Past it the key is refused even though it is
//!   still listed, so a forgotten prune is harmless.
//! - Unknown fields are refused: a misspelt `retire_after` must not mean "never retire".
//!
//! A value that does not start with `{` is a bare key (what the single secret was before
//! key sets): its bytes, as they are, are the one key, with kid [`LEGACY_KID`]. Tokens
//! without a `kid` (issued before key sets) are verified with that key only, so they
//! keep working until it is retired and are refused from then on.

use std::time::Duration;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{ConfigError, LEEWAY_SECONDS, MIN_SECRET_BYTES};

/// The kid of a key that came as a bare secret, and the key a token without `kid` is
/// verified with.
pub const LEGACY_KID: &str = "legacy";
/// Random bytes in a generated key: above the minimum, a common HS256 key size.
const GENERATED_SECRET_BYTES: usize = 48;
/// More keys than this is a set nobody prunes; refuse it rather than carry it forever.
const MAX_KEYS: usize = 16;
const MAX_KID_CHARS: usize = 64;

/// Accepts base64url with or without padding; writes it without.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One key of a set; see the module docs for what each time means.
pub struct Key {
    kid: String,
    secret: SecretBox<[u8]>,
    created_at: u64,
    signs_from: Option<u64>,
    retire_after: Option<u64>,
}

impl Key {
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub(crate) fn secret(&self) -> &[u8] {
        self.secret.expose_secret()
    }

    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When it starts (or started) signing.
    pub fn signs_from(&self) -> u64 {
        self.signs_from.unwrap_or(self.created_at)
    }

    pub fn retire_after(&self) -> Option<u64> {
        self.retire_after
    }

    pub(crate) fn is_retired(&self, now: u64) -> bool {
        self.retire_after.is_some_and(|retire| now > retire)
    }

    fn may_sign(&self, now: u64) -> bool {
        !self.is_retired(now) && self.signs_from() <= now
    }

    fn generate(now: u64, signs_from: Option<u64>) -> Self {
        let bytes: [u8; GENERATED_SECRET_BYTES] = rand::random();
        Self {
            kid: ulid::Ulid::new().to_string(),
            secret: SecretBox::new(Box::from(bytes.as_slice())),
            created_at: now,
            signs_from,
            retire_after: None,
        }
    }
}

/// What a key is doing at a given moment (for `keys list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Verifies, and signs from `signs_from` on.
    Pending,
    Signing,
    /// Verifies only, until its `retire_after` if it has one.
    Verifying,
    /// Past its `retire_after`: refused, and pruned by the next `keys prune`.
    Retired,
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that a table's column width applies.
        f.pad(match self {
            Self::Pending => "pending",
            Self::Signing => "signing",
            Self::Verifying => "verifying",
            Self::Retired => "retired",
        })
    }
}

/// How a rotation schedules the new key and retires the others.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    /// The longest token lifetime any instance is configured with.
    pub lifetime: Duration,
    /// How long the new key only verifies before it signs: enough for every instance
    /// to have read the new set. Zero when one process holds the set (local-dev).
    pub activate_in: Duration,
}

/// Every key a deployment trusts; see the module docs.
pub struct KeySet {
    keys: Vec<Key>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(Key::kid).collect();
        f.debug_struct("KeySet").field("kids", &kids).finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    keys: Vec<RawKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    kid: String,
    secret: String,
    created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signs_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retire_after: Option<String>,
}

impl KeySet {
    /// A key set as stored: JSON if it starts with `{` (leading whitespace ignored),
    /// otherwise one bare key whose `created_at` is the Unix epoch.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        if text.trim_start().starts_with('{') {
            Self::from_json(text)
        } else {
            Self::legacy(text.as_bytes(), 0)
        }
    }

    /// The one-key set of a bare secret (its bytes as they are), with kid [`LEGACY_KID`].
    pub fn legacy(secret: &[u8], created_at: u64) -> Result<Self, ConfigError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::SecretTooShort);
        }
        Ok(Self {
            keys: vec![Key {
                kid: LEGACY_KID.to_owned(),
                secret: SecretBox::new(Box::from(secret)),
                created_at,
                signs_from: None,
                retire_after: None,
            }],
        })
    }

    /// A fresh set of one random key that signs from `now`.
    pub fn generate(now: u64) -> Self {
        Self {
            keys: vec![Key::generate(now, None)],
        }
    }

    fn from_json(text: &str) -> Result<Self, ConfigError> {
        let raw: RawSet = serde_json::from_str(text).map_err(json_error)?;
        if raw.keys.is_empty() {
            return Err(bad("it has no keys".into()));
        }
        if raw.keys.len() > MAX_KEYS {
            return Err(bad(format!(
                "it has more than {MAX_KEYS} keys; prune the retired ones"
            )));
        }
        let mut keys: Vec<Key> = Vec::with_capacity(raw.keys.len());
        for raw in raw.keys {
            let key = Key::try_from(raw)?;
            if keys.iter().any(|other| other.kid == key.kid) {
                return Err(bad(format!("kid {:?} appears twice", key.kid)));
            }
            keys.push(key);
        }
        Ok(Self { keys })
    }

    /// The set as JSON, secrets included: for the data directory or Secrets Manager only.
    pub fn to_json(&self) -> SecretString {
        let raw = RawSet {
            keys: self
                .keys
                .iter()
                .map(|key| RawKey {
                    kid: key.kid.clone(),
                    secret: BASE64URL.encode(key.secret()),
                    created_at: rfc3339(key.created_at),
                    signs_from: key.signs_from.map(rfc3339),
                    retire_after: key.retire_after.map(rfc3339),
                })
                .collect(),
        };
        let mut json = serde_json::to_string_pretty(&raw).unwrap_or_default();
        json.push('\n');
        SecretString::from(json)
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    /// The key that signs at `now`, if any may.
    pub fn signing_key(&self, now: u64) -> Option<&Key> {
        self.keys
            .iter()
            .filter(|key| key.may_sign(now))
            .max_by_key(|key| (key.signs_from(), key.created_at))
    }

    pub fn state(&self, key: &Key, now: u64) -> KeyState {
        if key.is_retired(now) {
            KeyState::Retired
        } else if self
            .signing_key(now)
            .is_some_and(|signing| signing.kid == key.kid)
        {
            KeyState::Signing
        } else if key.signs_from() > now {
            KeyState::Pending
        } else {
            KeyState::Verifying
        }
    }

    /// Adds a new random key that signs from `now + activate_in`, and gives every other
    /// key still without one the `retire_after` at which the last token it may sign is
    /// no longer accepted. Returns the new key's kid.
    pub fn rotate(&mut self, now: u64, rotation: Rotation) -> String {
        let activate_in = rotation.activate_in.as_secs();
        let signs_from = now.saturating_add(activate_in);
        let retire_after = signs_from
            .saturating_add(rotation.lifetime.as_secs())
            .saturating_add(LEEWAY_SECONDS);
        for key in &mut self.keys {
            if key.retire_after.is_none() {
                key.retire_after = Some(retire_after);
            }
        }
        let key = Key::generate(now, (activate_in > 0).then_some(signs_from));
        let kid = key.kid.clone();
        self.keys.push(key);
        kid
    }

    /// Retires `kid` at once (a leaked key): its tokens are refused by every instance
    /// that reads the set from then on. Refused for the key that would leave none to
    /// sign: rotate first.
    pub fn retire(&mut self, kid: &str, now: u64) -> Result<(), ConfigError> {
        let key = self
            .keys
            .iter_mut()
            .find(|key| key.kid == kid)
            .ok_or_else(|| ConfigError::NoSuchKey(kid.to_owned()))?;
        let before = key.retire_after.replace(now.saturating_sub(1));
        if self.signing_key(now).is_none() {
            if let Some(key) = self.keys.iter_mut().find(|key| key.kid == kid) {
                key.retire_after = before;
            }
            return Err(ConfigError::NoSigningKey);
        }
        Ok(())
    }

    /// Removes the keys retired at `now`; returns their kids.
    pub fn prune(&mut self, now: u64) -> Vec<String> {
        let (retired, kept): (Vec<Key>, Vec<Key>) = std::mem::take(&mut self.keys)
            .into_iter()
            .partition(|key| key.is_retired(now));
        self.keys = kept;
        retired.into_iter().map(|key| key.kid).collect()
    }
}

impl TryFrom<RawKey> for Key {
    type Error = ConfigError;

    fn try_from(raw: RawKey) -> Result<Self, ConfigError> {
        let kid = raw.kid;
        let well_formed = (1..=MAX_KID_CHARS).contains(&kid.len())
            && kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !well_formed {
            // The kid goes into token headers and logs: letters, digits, `-`, `_`, `.`.
            return Err(bad(format!(
                "a kid must be 1-{MAX_KID_CHARS} letters, digits, '-', '_' or '.'"
            )));
        }
        let secret = BASE64URL
            .decode(raw.secret.trim())
            .map_err(|_| bad(format!("the secret of {kid:?} is not base64url")))?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::SecretTooShort);
        }
        let time = |field: &str, value: &str| {
            parse_rfc3339(value).ok_or_else(|| {
                bad(format!(
                    "the {field} of {kid:?} is not an RFC 3339 time after 1970"
                ))
            })
        };
        let created_at = time("created_at", &raw.created_at)?;
        let signs_from = raw
            .signs_from
            .as_deref()
            .map(|value| time("signs_from", value))
            .transpose()?;
        let retire_after = raw
            .retire_after
            .as_deref()
            .map(|value| time("retire_after", value))
            .transpose()?;
        Ok(Self {
            secret: SecretBox::new(secret.into_boxed_slice()),
            kid,
            created_at,
            signs_from,
            retire_after,
        })
    }
}

/// serde_json quotes the values it finds in the wrong place, and a value there may be a
/// secret: only a missing or unknown field (a name, never a value) is told.
fn json_error(error: serde_json::Error) -> ConfigError {
    let message = error.to_string();
    let reason = if message.starts_with("unknown field") || message.starts_with("missing field") {
        message
    } else {
        format!(
            "not a key set (invalid {} at line {} column {})",
            match error.classify() {
                serde_json::error::Category::Data => "value",
                _ => "JSON",
            },
            error.line(),
            error.column()
        )
    };
    bad(reason)
}

fn bad(reason: String) -> ConfigError {
    ConfigError::BadKeySet(reason)
}

/// `unix` as RFC 3339 in UTC (`2026-12-02T03:00:00Z`).
pub fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn parse_rfc3339(value: &str) -> Option<u64> {
    let time = OffsetDateTime::parse(value.trim(), &Rfc3339).ok()?;
    u64::try_from(time.unix_timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    const NOW: u64 = 1_800_000_000;
    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    fn secret_b64(fill: u8, len: usize) -> String {
        URL_SAFE_NO_PAD.encode(vec![fill; len])
    }

    #[test]
    fn a_bare_secret_is_one_legacy_key_of_its_bytes_as_they_are() {
        let set = KeySet::parse(" 0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(set.keys().len(), 1);
        let key = &set.keys()[0];
        assert_eq!(key.kid(), LEGACY_KID);
        assert_eq!(key.secret(), b" 0123456789abcdef0123456789abcdef");
        assert_eq!(set.state(key, NOW), KeyState::Signing);
    }

    #[test]
    fn a_json_set_round_trips_through_its_own_json() {
        let mut set = KeySet::generate(NOW);
        set.rotate(
            NOW + 10,
            Rotation {
                lifetime: DAY,
                activate_in: Duration::from_secs(600),
            },
        );
        let again = KeySet::parse(set.to_json().expose_secret()).unwrap();
        assert_eq!(again.keys().len(), 2);
        for (before, after) in set.keys().iter().zip(again.keys()) {
            assert_eq!(before.kid(), after.kid());
            assert_eq!(before.secret(), after.secret());
            assert_eq!(before.created_at(), after.created_at());
            assert_eq!(before.signs_from(), after.signs_from());
            assert_eq!(before.retire_after(), after.retire_after());
        }
    }

    #[test]
    fn rotation_retires_the_old_key_one_lifetime_and_leeway_after_the_new_one_signs() {
        let mut set = KeySet::generate(NOW);
        let old = set.keys()[0].kid().to_owned();
        let new = set.rotate(
            NOW,
            Rotation {
                lifetime: DAY,
                activate_in: Duration::from_secs(600),
            },
        );
        let signs_from = NOW + 600;
        let retire = signs_from + DAY.as_secs() + LEEWAY_SECONDS;
        assert_eq!(set.get(&old).unwrap().retire_after(), Some(retire));
        assert_eq!(set.get(&new).unwrap().signs_from(), signs_from);
        // Until every instance has read the set, the old key still signs.
        assert_eq!(set.signing_key(NOW + 599).unwrap().kid(), old);
        assert_eq!(set.state(set.get(&new).unwrap(), NOW), KeyState::Pending);
        assert_eq!(set.signing_key(signs_from).unwrap().kid(), new);
        assert_eq!(
            set.state(set.get(&old).unwrap(), retire),
            KeyState::Verifying
        );
        assert_eq!(
            set.state(set.get(&old).unwrap(), retire + 1),
            KeyState::Retired
        );
        assert!(set.prune(retire).is_empty());
        assert_eq!(set.prune(retire + 1), [old]);
        assert_eq!(set.keys().len(), 1);
    }

    #[test]
    fn a_second_rotation_keeps_the_first_retire_time() {
        let mut set = KeySet::generate(NOW);
        let first = set.keys()[0].kid().to_owned();
        let rotation = Rotation {
            lifetime: DAY,
            activate_in: Duration::ZERO,
        };
        set.rotate(NOW, rotation);
        set.rotate(NOW + 3600, rotation);
        assert_eq!(
            set.get(&first).unwrap().retire_after(),
            Some(NOW + DAY.as_secs() + LEEWAY_SECONDS)
        );
    }

    #[test]
    fn a_leaked_key_is_retired_at_once_but_never_the_last_one_that_signs() {
        let mut set = KeySet::generate(NOW);
        let leaked = set.keys()[0].kid().to_owned();
        assert_eq!(
            set.retire(&leaked, NOW).unwrap_err(),
            ConfigError::NoSigningKey
        );
        assert_eq!(set.state(set.get(&leaked).unwrap(), NOW), KeyState::Signing);
        let new = set.rotate(
            NOW,
            Rotation {
                lifetime: DAY,
                activate_in: Duration::ZERO,
            },
        );
        set.retire(&leaked, NOW).unwrap();
        assert_eq!(set.state(set.get(&leaked).unwrap(), NOW), KeyState::Retired);
        assert_eq!(set.signing_key(NOW).unwrap().kid(), new);
        assert_eq!(
            set.retire("nope", NOW).unwrap_err(),
            ConfigError::NoSuchKey("nope".into())
        );
    }

    #[test]
    fn malformed_sets_are_refused_with_a_reason_that_holds_no_secret() {
        let good = secret_b64(7, 32);
        let key = |kid: &str, secret: &str, extra: &str| {
            format!(
                r#"{{"kid":"{kid}","secret":"{secret}","created_at":"2026-12-01T00:00:00Z"{extra}}}"#
            )
        };
        let cases = [
            r#"{"keys":[]}"#.to_owned(),
            r#"{"keys":"#.to_owned(),
            format!(r#"{{"keys":[{}]}}"#, key("a", "not base64 !", "")),
            format!(r#"{{"keys":[{}]}}"#, key("has space", &good, "")),
            format!(r#"{{"keys":[{}]}}"#, key("", &good, "")),
            format!(
                r#"{{"keys":[{},{}]}}"#,
                key("a", &good, ""),
                key("a", &good, "")
            ),
            format!(
                r#"{{"keys":[{}]}}"#,
                key("a", &good, r#","retire_at":"2026-12-02T00:00:00Z""#)
            ),
            format!(
                r#"{{"keys":[{}]}}"#,
                key("a", &good, r#","retire_after":"tomorrow""#)
            ),
            format!(r#"{{"keys":[{}],"extra":1}}"#, key("a", &good, "")),
            // The secret where a list of keys belongs: not quoted back.
            format!(r#"{{"keys":"{good}"}}"#),
            format!(r#"{{"keys":[{{"kid":"a","secret":["{good}"]}}]}}"#),
        ];
        for case in cases {
            match KeySet::parse(&case) {
                Err(ConfigError::BadKeySet(reason)) => {
                    assert!(!reason.contains(&good), "{reason}")
                }
                other => panic!("{case} gave {other:?}"),
            }
        }
        let short = format!(r#"{{"keys":[{}]}}"#, key("a", &secret_b64(7, 31), ""));
        assert_eq!(
            KeySet::parse(&short).unwrap_err(),
            ConfigError::SecretTooShort
        );
    }

    #[test]
    fn padded_and_unpadded_base64url_secrets_are_the_same_key() {
        let set = |secret: &str| {
            KeySet::parse(&format!(
                r#"{{"keys":[{{"kid":"a","secret":"{secret}","created_at":"2026-12-01T00:00:00Z"}}]}}"#
            ))
            .unwrap()
        };
        let unpadded = URL_SAFE_NO_PAD.encode([9u8; 40]);
        let padded = base64::engine::general_purpose::URL_SAFE.encode([9u8; 40]);
        assert_ne!(unpadded, padded);
        assert_eq!(set(&unpadded).keys()[0].secret(), [9u8; 40]);
        assert_eq!(set(&padded).keys()[0].secret(), [9u8; 40]);
    }

    #[test]
    fn the_debug_output_names_kids_and_no_secret() {
        let set = KeySet::legacy(b"0123456789abcdef0123456789abcdef", 0).unwrap();
        let shown = format!("{set:?}");
        assert!(shown.contains("legacy"));
        assert!(!shown.contains("0123456789abcdef"));
    }
}
