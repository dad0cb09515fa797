//! Compact JWS (RS256) for access tokens, and verification of the tokens we issued (access
//! tokens, and ID tokens coming back as `id_token_hint`). ID tokens themselves are built with
//! the `openidconnect` crate's types in `tokens.rs`.

use base64::Engine as _;
use serde_json::Value;

use crate::keys::{KeyStore, SigningKey};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `claims` with `typ` in the header (`at+jwt` for access tokens, RFC 9068).
pub fn sign(key: &SigningKey, typ: &str, claims: &Value) -> anyhow::Result<String> {
    let header = serde_json::json!({ "alg": "RS256", "typ": typ, "kid": key.kid });
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&header)?),
        b64(&serde_json::to_vec(claims)?)
    );
    let sig = key.sign(input.as_bytes())?;
    Ok(format!("{input}.{}", b64(&sig)))
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

/// Verifies a token signed by one of our published keys; returns the header and the claims.
/// Claims (exp, iss, aud…) are the caller's to check.
pub fn verify(keys: &KeyStore, token: &str) -> Result<(Value, Value), JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let decode = |p: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| JwtError::Malformed)
    };
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| JwtError::Malformed)?;
    if header["alg"] != "RS256" {
        return Err(JwtError::Algorithm);
    }
    let kid = header["kid"].as_str().ok_or(JwtError::UnknownKey)?;
    let key = keys.published(kid).ok_or(JwtError::UnknownKey)?;
    let sig = decode(s)?;
    let signed = &token[..h.len() + 1 + c.len()];
    if !key.verify(signed.as_bytes(), &sig) {
        return Err(JwtError::Signature);
    }
    let claims: Value = serde_json::from_slice(&decode(c)?).map_err(|_| JwtError::Malformed)?;
    Ok((header, claims))
}
