//! Issuing tokens: JWT access tokens (RFC 9068), ID tokens (built with the `openidconnect`
//! crate's types), opaque refresh tokens and codes (only their hashes are stored).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AccessToken, AdditionalClaims, Audience, EndUserEmail, EndUserName, EndUserUsername, IdToken,
    IdTokenClaims, IssuerUrl, LanguageTag, LocalizedClaim, Nonce, StandardClaims,
    SubjectIdentifier,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::domain::Role;
use crate::signin::Member;
use crate::state::AppState;

pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(10);
pub const ID_TOKEN_TTL: Duration = Duration::hours(1);
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);
pub const CODE_TTL: Duration = Duration::seconds(60);

/// The co-op's own claims, beside the standard ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CoopClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<BTreeSet<Role>>,
    /// The coop-sso session the sign-in came through; logout tokens name it (Back-Channel
    /// Logout §2.1), and Synapse ends the sessions with this `sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl AdditionalClaims for CoopClaims {}

type CoopIdToken = IdToken<
    CoopClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// What the granted scopes let a client see.
#[derive(Debug, Clone, Copy)]
pub struct ClaimSet {
    pub profile: bool,
    pub email: bool,
    /// Member number and household.
    pub member: bool,
    pub roles: bool,
}

impl ClaimSet {
    pub fn from_scope(scope: &str) -> Self {
        let has = |s: &str| scope.split(' ').any(|x| x == s);
        Self {
            profile: has("profile"),
            email: has("email"),
            member: has("member"),
            roles: has("roles"),
        }
    }
}

pub fn member_number(state: &AppState, member: &Member) -> Option<String> {
    u32::try_from(member.member_number)
        .ok()
        .and_then(|n| state.kit.coop.member_number.number(n).ok())
        .map(|n| n.to_string())
}

/// The claims as JSON, for userinfo.
pub fn userinfo_claims(state: &AppState, member: &Member, set: ClaimSet) -> serde_json::Value {
    let mut v = json!({ "sub": member.member_id.to_string() });
    if set.profile {
        v["name"] = json!(member.name);
        v["preferred_username"] = json!(member.username);
        v["locale"] = json!(member.preferred_lang);
    }
    if set.member {
        v["member_number"] = json!(member_number(state, member));
        v["household"] = json!(member.household_id.map(|h| h.to_string()));
    }
    if set.email {
        v["email"] = json!(member.email);
        v["email_verified"] = json!(member.email_verified);
    }
    if set.roles {
        v["roles"] = json!(member.roles);
    }
    v
}

#[derive(Debug)]
pub struct IdTokenInput<'a> {
    pub member: &'a Member,
    pub client_id: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: DateTime<Utc>,
    pub access_token: &'a str,
    pub claims: ClaimSet,
    pub sid: Option<Uuid>,
}

pub fn id_token(state: &AppState, input: &IdTokenInput<'_>) -> anyhow::Result<String> {
    let now = state.now();
    let m = input.member;
    let mut standard = StandardClaims::new(SubjectIdentifier::new(m.member_id.to_string()));
    if input.claims.profile {
        standard = standard
            .set_name(Some(LocalizedClaim::from(EndUserName::new(m.name.clone()))))
            .set_preferred_username(Some(EndUserUsername::new(m.username.clone())))
            .set_locale(Some(LanguageTag::new(m.preferred_lang.clone())));
    }
    if input.claims.email {
        standard = standard
            .set_email(Some(EndUserEmail::new(m.email.clone())))
            .set_email_verified(Some(m.email_verified));
    }
    let extra = CoopClaims {
        member_number: input
            .claims
            .member
            .then(|| member_number(state, m))
            .flatten(),
        household: input
            .claims
            .member
            .then(|| m.household_id.map(|h| h.to_string())),
        roles: input.claims.roles.then(|| m.roles.clone()),
        sid: input.sid.map(|s| s.to_string()),
    };
    let claims = IdTokenClaims::new(
        IssuerUrl::new(state.issuer.to_string())?,
        vec![Audience::new(input.client_id.to_owned())],
        now + ID_TOKEN_TTL,
        now,
        standard,
        extra,
    )
    .set_nonce(input.nonce.map(|n| Nonce::new(n.to_owned())))
    .set_auth_time(Some(input.auth_time));
    let key = state.keys.current()?;
    let token = CoopIdToken::new(
        claims,
        &*key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(&AccessToken::new(input.access_token.to_owned())),
        None,
    )?;
    Ok(token.to_string())
}

/// What an access token is for.
#[derive(Debug)]
pub struct AccessTokenInput<'a> {
    /// The member id, a till's `till:<id>`, or for a service's own token its client id.
    pub sub: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    /// Who accepts it: the client's audiences.
    pub aud: &'a [String],
    /// The member's roles; in the token only when the scope grants `roles`.
    pub roles: Option<&'a BTreeSet<Role>>,
    /// Ties a member's token to its token family, so revoking the family stops it at once.
    pub family: Option<Uuid>,
}

/// A signed access token (RFC 9068).
pub fn access_token(state: &AppState, input: &AccessTokenInput<'_>) -> anyhow::Result<String> {
    let now = state.now();
    let aud = match input.aud {
        [one] => json!(one),
        many => json!(many),
    };
    let mut claims = json!({
        "iss": &*state.issuer,
        "sub": input.sub,
        "aud": aud,
        "client_id": input.client_id,
        "iat": now.timestamp(),
        "exp": (now + ACCESS_TOKEN_TTL).timestamp(),
        "jti": Uuid::new_v4().to_string(),
        "scope": input.scope,
    });
    if let Some(roles) = input
        .roles
        .filter(|_| input.scope.split(' ').any(|s| s == "roles"))
    {
        claims["roles"] = json!(roles);
    }
    if let Some(f) = input.family {
        claims["fam"] = json!(f.to_string());
    }
    crate::jwt::sign(&*state.keys.current_access()?, "at+jwt", &claims)
}
