//! coop-sso's ID tokens: the claims the suite adds, and the checks before anyone is signed in.

use chrono::{DateTime, Duration, Utc};
use coop_domain::Role;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, Client, ClientId, EmptyExtraTokenFields,
    EndpointNotSet, EndpointSet, IdToken, IdTokenFields, IdTokenVerifier, NonceVerifier,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
};
use serde::{Deserialize, Serialize};

use super::failure::Failure;
use super::provider::Provider;
use super::user::CurrentUser;

/// Clock skew tolerated on `iat`.
const LEEWAY: Duration = Duration::seconds(60);

/// The claims coop-sso adds to the standard ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CoopClaims {
    #[serde(default)]
    member_number: Option<String>,
    #[serde(default)]
    household: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    sid: Option<String>,
}
impl AdditionalClaims for CoopClaims {}

pub(crate) type CoopIdToken = IdToken<
    CoopClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub(crate) type CoopTokenResponse = StandardTokenResponse<
    IdTokenFields<
        CoopClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;
pub(crate) type CoopClient = Client<
    CoopClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    CoopTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

fn check(
    provider: &Provider,
    client_id: &ClientId,
    id_token: &CoopIdToken,
    nonce: impl NonceVerifier,
    keys: &CoreJsonWebKeySet,
    expires_at: DateTime<Utc>,
) -> Result<CurrentUser, ClaimsVerificationError> {
    let clock = provider.clock();
    let iat_clock = clock.clone();
    // RS256 only, and the public-client verifier: an HS256 token "signed" with our client
    // secret is refused rather than trusted.
    let verifier = IdTokenVerifier::new_public_client(
        client_id.clone(),
        provider.issuer_url().clone(),
        keys.clone(),
    )
    .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256])
    .set_time_fn(move || clock.now())
    .set_issue_time_verifier_fn(move |iat| {
        if iat > iat_clock.now() + LEEWAY {
            Err(format!("issued in the future ({iat})"))
        } else {
            Ok(())
        }
    });
    let claims = id_token.claims(&verifier, nonce)?;
    let extra = claims.additional_claims();
    let preferred_username = claims.preferred_username().map(|u| u.as_str().to_owned());
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned())
        .or_else(|| preferred_username.clone())
        .unwrap_or_else(|| claims.subject().as_str().to_owned());
    let now = provider.now();
    Ok(CurrentUser {
        sub: claims.subject().as_str().to_owned(),
        name,
        email: claims.email().map(|e| e.as_str().to_owned()),
        preferred_username,
        member_number: extra.member_number.clone(),
        household: extra.household.clone(),
        roles: parse_roles(&extra.roles),
        id_token: id_token.to_string(),
        expires_at,
        sid: extra.sid.clone(),
        signed_in_at: now,
        checked_at: now,
        refresh_token: None,
    })
}

/// Checks signature (RS256, coop-sso's keys), `iss`, `aud`, `exp`, `iat` and `nonce`. A
/// token signed with a key we have not seen refetches the keys once: coop-sso rotated.
/// `nonce` is the sign-in's own; a refreshed ID token has none (`&|_| Ok(())` then).
pub(crate) async fn verify<N: NonceVerifier + Copy>(
    provider: &Provider,
    client_id: &ClientId,
    id_token: &CoopIdToken,
    nonce: N,
    expires_at: DateTime<Utc>,
) -> Result<CurrentUser, Failure> {
    let keys = provider.keys().await?;
    match check(provider, client_id, id_token, nonce, &keys, expires_at) {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            if let Err(e) = provider.refresh_keys().await {
                tracing::warn!("{e}");
            }
            let keys = provider.keys().await?;
            check(provider, client_id, id_token, nonce, &keys, expires_at)
        }
        other => other,
    }
    .map_err(|e| Failure::BadRequest(format!("ID token refused: {e}")))
}

/// Role names this build knows; unknown ones (a newer coop-sso) are skipped, not fatal.
pub(crate) fn parse_roles(names: &[String]) -> std::collections::BTreeSet<Role> {
    names
        .iter()
        .filter_map(|n| match n.parse::<Role>() {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::debug!("ignoring role: {e}");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_roles_are_skipped() {
        let roles = parse_roles(&["member".into(), "wizard".into(), "Admin".into()]);
        assert_eq!(roles.into_iter().collect::<Vec<_>>(), vec![Role::Member]);
    }
}
