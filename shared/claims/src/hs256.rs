//! The one JWT algorithm mem0 signs and accepts, HS256, as jsonwebtoken's crypto
//! provider. jsonwebtoken's bundled `rust_crypto` provider dispatches on the algorithm
//! at run time, so it links RSA, ECDSA and EdDSA into every binary (a tenth of a
//! function's code) for tokens that are refused before any of them would run. This one
//! knows HS256 alone; every other algorithm is an error, before any key is used.

use std::sync::Once;

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Sha256;
use signature::{Signer, Verifier};

type HmacSha256 = Hmac<Sha256>;

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes HS256 the process's JWT crypto before the first token is signed or checked.
/// A provider installed earlier (a test's `rust_crypto`) stays: it signs HS256 alike.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = PROVIDER.install_default();
    });
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    only_hs256(algorithm)?;
    Ok(Box::new(Hs256(mac(key.try_get_hmac_secret()?)?)))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    only_hs256(algorithm)?;
    Ok(Box::new(Hs256(mac(key.try_get_hmac_secret()?)?)))
}

fn only_hs256(algorithm: &Algorithm) -> Result<(), Error> {
    match algorithm {
        Algorithm::HS256 => Ok(()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn mac(secret: &[u8]) -> Result<HmacSha256, Error> {
    HmacSha256::new_from_slice(secret).map_err(|_| ErrorKind::InvalidKeyFormat.into())
}

/// An HMAC-SHA256 keyed with a token key; cloned per message.
struct Hs256(HmacSha256);

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    /// In constant time (`verify_slice`).
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.verify_slice(tag).map_err(signature::Error::from_source)
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    /// RFC 7515, appendix A.1: the HS256 example's key, signing input and signature.
    const KEY: &str =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    const SIGNING_INPUT: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    const SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn key() -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(KEY).expect("the RFC's key")
    }

    #[test]
    fn signs_and_verifies_the_rfc_7515_example() {
        let signer = signer(&Algorithm::HS256, &EncodingKey::from_secret(&key())).unwrap();
        let tag = signer.try_sign(SIGNING_INPUT.as_bytes()).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(&tag), SIGNATURE);

        let verifier = verifier(&Algorithm::HS256, &DecodingKey::from_secret(&key())).unwrap();
        assert!(verifier.verify(SIGNING_INPUT.as_bytes(), &tag).is_ok());
        let mut forged = tag.clone();
        forged[0] ^= 1;
        assert!(verifier.verify(SIGNING_INPUT.as_bytes(), &forged).is_err());
        assert!(verifier.verify(b"another message", &tag).is_err());
        assert!(
            verifier
                .verify(SIGNING_INPUT.as_bytes(), &tag[..31].to_vec())
                .is_err()
        );
    }

    #[test]
    fn every_other_algorithm_is_refused_before_the_key_is_used() {
        let key = DecodingKey::from_secret(&key());
        for algorithm in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::PS256,
            Algorithm::EdDSA,
        ] {
            let refused = verifier(&algorithm, &key).err().expect("refused");
            assert_eq!(refused.kind(), &ErrorKind::InvalidAlgorithm);
        }
    }
}
