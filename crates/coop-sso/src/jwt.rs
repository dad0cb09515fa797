//! Compact JWS for access tokens (ES256), logout tokens (RS256), and verification of the tokens
//! we issued (access tokens, and ID tokens coming back as `id_token_hint`), through jsonwebtoken.
//! ID tokens themselves are built with the `openidconnect` crate's types in `tokens.rs`.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde_json::Value;

use crate::keys::{KeyStore, SigningKey};

/// Signs `claims` with `typ` in the header (`at+jwt` for access tokens, RFC 9068).
pub fn sign(key: &SigningKey, typ: &str, claims: &Value) -> anyhow::Result<String> {
    let mut header = Header::new(key.alg);
    header.typ = Some(typ.to_owned());
    header.kid = Some(key.kid.clone());
    Ok(jsonwebtoken::encode(&header, claims, key.encoding())?)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("unknown key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("wrong token type")]
    Type,
}

/// Verifies a token signed by one of our published keys (RS256 or ES256, and the key's own
/// algorithm); returns the header and the claims. Claims (exp, iss, aud…) are the caller's.
pub fn verify(keys: &KeyStore, token: &str) -> Result<(Value, Value), JwtError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| {
        // An algorithm jsonwebtoken does not even name (`none`) is refused as an algorithm.
        let named = token
            .split('.')
            .next()
            .and_then(|h| {
                use base64::Engine as _;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(h)
                    .ok()
            })
            .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
            .is_some_and(|h| h.get("alg").is_some());
        if named {
            JwtError::Algorithm
        } else {
            JwtError::Malformed
        }
    })?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(JwtError::Algorithm);
    }
    let kid = header.kid.as_deref().ok_or(JwtError::UnknownKey)?;
    let key = keys.published(kid).ok_or(JwtError::UnknownKey)?;
    if key.alg != header.alg {
        return Err(JwtError::Algorithm);
    }
    let mut validation = Validation::new(key.alg);
    // Only the signature here: expired hints are fine, and the callers check the claims.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Value>(token, &key.decoding, &validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => JwtError::Signature,
                _ => JwtError::Malformed,
            }
        })?;
    let header = serde_json::to_value(&header).map_err(|_| JwtError::Malformed)?;
    Ok((header, data.claims))
}
