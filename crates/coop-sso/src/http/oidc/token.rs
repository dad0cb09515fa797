//! The token endpoint: code exchange (PKCE S256), refresh with rotation and reuse detection,
//! and client credentials for the suite's services. No password grant, no implicit flow.

use crate::domain::AuditAction;
use crate::grants;
use axum::extract::State;
use axum::http::header::{self, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{authenticate_client, OAuthError};
use crate::clients::Client;
use crate::domain::MemberStatus;
use crate::secrets;
use crate::signin::{self, Member};
use crate::state::AppState;
use crate::tokens::{self, ClaimSet, IdTokenInput, ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL};

/// How long a till may present a refresh token again after it was used, when the answer was
/// lost on the way, before a second use counts as theft.
const TILL_REFRESH_GRACE: chrono::Duration = chrono::Duration::seconds(60);

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    device_code: Option<String>,
}

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match handle(&state, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::new(
            "invalid_request",
            "send the parameters as a form",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::new("invalid_request", "the form could not be read"))?;
    let mut seen = std::collections::HashSet::new();
    if !pairs.iter().all(|(k, _)| seen.insert(k.as_str())) {
        return Err(OAuthError::new(
            "invalid_request",
            "a parameter was given more than once",
        ));
    }
    let form: TokenForm = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::new("invalid_request", "the form could not be read"))?;
    let client = authenticate_client(
        state,
        headers,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    )?;
    match form.grant_type.as_deref() {
        Some("authorization_code") => code_grant(state, client, &form).await,
        Some("refresh_token") => refresh_grant(state, client, &form).await,
        Some("client_credentials") => client_credentials(state, client, &form),
        Some(super::device::GRANT_TYPE) => {
            super::device::device_grant(state, client, form.device_code.as_deref()).await
        }
        Some(_) => Err(OAuthError::new(
            "unsupported_grant_type",
            "this grant type is not supported",
        )),
        None => Err(OAuthError::new("invalid_request", "grant_type is missing")),
    }
}

pub(super) fn no_store(body: serde_json::Value) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

async fn code_grant(
    state: &AppState,
    client: &Client,
    form: &TokenForm,
) -> Result<Response, OAuthError> {
    let code = form
        .code
        .as_deref()
        .ok_or_else(|| OAuthError::new("invalid_request", "code is missing"))?;
    let verifier = form.code_verifier.as_deref().ok_or_else(|| {
        OAuthError::new(
            "invalid_request",
            "code_verifier is missing (PKCE is required)",
        )
    })?;
    let code_hash = secrets::hash(code);
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let row = grants::lock_code(&mut tx, &code_hash).await?;
    let Some(row) = row else {
        return Err(OAuthError::invalid_grant("the code is not valid"));
    };
    if row.used_at.is_some() {
        // A code used twice was probably stolen: whatever it gave out is withdrawn (RFC 6749 §4.1.2).
        grants::revoke_families_of_code(&mut tx, &code_hash, now).await?;
        crate::members::audit(
            &mut tx,
            None,
            Some(row.member_id),
            AuditAction::TokenCodeReused,
            json!({ "client": client.client_id }),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(client_id = %client.client_id, "authorization code reused; its tokens are revoked");
        return Err(OAuthError::invalid_grant("the code has already been used"));
    }
    grants::mark_code_used(&mut tx, &code_hash, now).await?;
    if row.client_id != client.client_id {
        tx.commit().await?;
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if row.expires_at <= now {
        tx.commit().await?;
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if form.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
        tx.commit().await?;
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    if !secrets::equal(&secrets::pkce_s256(verifier), &row.code_challenge) {
        tx.commit().await?;
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let member = signin::load_member(&mut *tx, row.member_id).await?;
    let Some(member) = member.filter(|m| m.status == MemberStatus::Active) else {
        tx.commit().await?;
        return Err(OAuthError::invalid_grant("the member cannot sign in"));
    };
    let family = Uuid::new_v4();
    grants::insert_family(
        &mut tx,
        &grants::NewFamily {
            token_family_id: family,
            client_id: &client.client_id,
            member_id: Some(member.member_id),
            till_device_id: None,
            web_session_id: row.web_session_id,
            code_hash: Some(&code_hash),
            scope: &row.scope,
            auth_time: row.auth_time,
            created_at: now,
        },
    )
    .await?;
    // A refresh token only when the member granted offline access (OpenID Connect Core §11).
    let refresh = if row.scope.split(' ').any(|s| s == "offline_access") {
        Some(new_refresh_token(&mut tx, family, now, now + state.refresh_max).await?)
    } else {
        None
    };
    tx.commit().await?;
    issue(
        state,
        client,
        &member,
        &row.scope,
        family,
        row.nonce.as_deref(),
        row.auth_time,
        row.web_session_id,
        refresh,
    )
}

/// A new refresh token of `family`: good for [`REFRESH_TOKEN_TTL`] without use, and never past
/// `family_ends` (the family's absolute lifetime).
pub(super) async fn new_refresh_token(
    tx: &mut sqlx::PgConnection,
    family: Uuid,
    now: DateTime<Utc>,
    family_ends: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let token = secrets::new_token();
    grants::insert_refresh_token(
        tx,
        &secrets::hash(&token),
        family,
        now,
        (now + REFRESH_TOKEN_TTL).min(family_ends),
    )
    .await?;
    Ok(token)
}

#[allow(clippy::too_many_arguments)]
fn issue(
    state: &AppState,
    client: &Client,
    member: &Member,
    scope: &str,
    family: Uuid,
    nonce: Option<&str>,
    auth_time: DateTime<Utc>,
    sid: Option<Uuid>,
    refresh: Option<String>,
) -> Result<Response, OAuthError> {
    let sub = member.member_id.to_string();
    let access = tokens::access_token(
        state,
        &tokens::AccessTokenInput {
            sub: &sub,
            client_id: &client.client_id,
            scope,
            aud: &client.audiences,
            roles: Some(&member.roles),
            family: Some(family),
        },
    )?;
    let id_token = tokens::id_token(
        state,
        &IdTokenInput {
            member,
            client_id: &client.client_id,
            nonce,
            auth_time,
            access_token: &access,
            claims: ClaimSet::from_scope(scope),
            sid,
        },
    )?;
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL.num_seconds(),
        "id_token": id_token,
        "scope": scope,
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    Ok(no_store(body))
}

async fn refresh_grant(
    state: &AppState,
    client: &Client,
    form: &TokenForm,
) -> Result<Response, OAuthError> {
    let presented = form
        .refresh_token
        .as_deref()
        .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is missing"))?;
    let hash = secrets::hash(presented);
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let row = grants::lock_refresh(&mut tx, &hash).await?;
    let Some(row) = row else {
        return Err(OAuthError::invalid_grant("the refresh token is not valid"));
    };
    if row.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if row.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant(
            "the refresh token has been revoked",
        ));
    }
    // A till whose answer was lost (the network dropped, it crashed before keeping the new
    // token) presents the same token again: within a minute, while the token issued then is
    // still unused, that one is retired and the till gets a new one, instead of being unpaired.
    let retried = match (row.used_at, row.till_device_id) {
        // A retired token (expired when it was retired) is no retry.
        (Some(used), Some(_)) if now - used <= TILL_REFRESH_GRACE && row.expires_at > now => {
            grants::retire_successors(&mut tx, row.token_family_id, used, now).await? == 1
        }
        _ => false,
    };
    if retried {
        crate::members::audit(
            &mut tx,
            None,
            None,
            AuditAction::TokenRefreshReused,
            json!({ "client": client.client_id, "till": row.till_device_id, "retry": true }),
        )
        .await?;
        tracing::info!(till = ?row.till_device_id, "a till retried its refresh; answered once more");
    } else if row.used_at.is_some() {
        // Rotation means each refresh token works once; a second use means two holders.
        grants::revoke_family(&mut tx, row.token_family_id, now, "refresh token reused").await?;
        crate::members::audit(
            &mut tx,
            None,
            row.member_id,
            AuditAction::TokenRefreshReused,
            json!({ "client": client.client_id, "till": row.till_device_id }),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(client_id = %client.client_id, "refresh token reused; the family is revoked");
        return Err(OAuthError::invalid_grant(
            "the refresh token has already been used",
        ));
    }
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    // Tills stay paired until unpaired; members' families end after their absolute lifetime.
    let family_ends = if row.till_device_id.is_some() {
        now + REFRESH_TOKEN_TTL
    } else {
        row.family_created_at + state.refresh_max
    };
    if family_ends <= now {
        return Err(OAuthError::invalid_grant(
            "the sign-in is too old to refresh; sign in again",
        ));
    }
    if let Some(till) = row.till_device_id {
        if !grants::till_is_paired(&mut tx, till).await? {
            grants::revoke_family(&mut tx, row.token_family_id, now, "till unpaired").await?;
            tx.commit().await?;
            return Err(OAuthError::invalid_grant("the till has been unpaired"));
        }
        grants::mark_refresh_used(&mut tx, &hash, now).await?;
        let refresh = new_refresh_token(&mut tx, row.token_family_id, now, family_ends).await?;
        tx.commit().await?;
        return super::device::till_tokens(
            state,
            client,
            till,
            &row.scope,
            row.token_family_id,
            refresh,
        );
    }
    let member = match row.member_id {
        Some(id) => signin::load_member(&mut *tx, id).await?,
        None => None,
    };
    let Some(member) = member.filter(|m| m.status == MemberStatus::Active) else {
        grants::revoke_family(&mut tx, row.token_family_id, now, "member not active").await?;
        tx.commit().await?;
        return Err(OAuthError::invalid_grant("the member cannot sign in"));
    };
    // A narrower scope may be asked for, never a wider one.
    let scope = match form.scope.as_deref() {
        None => row.scope.clone(),
        Some(asked) => {
            let granted: Vec<&str> = row.scope.split(' ').collect();
            if !asked
                .split(' ')
                .filter(|s| !s.is_empty())
                .all(|s| granted.contains(&s))
            {
                return Err(OAuthError::new(
                    "invalid_scope",
                    "the scope is wider than the one granted",
                ));
            }
            asked.to_owned()
        }
    };
    grants::mark_refresh_used(&mut tx, &hash, now).await?;
    let refresh = new_refresh_token(&mut tx, row.token_family_id, now, family_ends).await?;
    tx.commit().await?;
    issue(
        state,
        client,
        &member,
        &scope,
        row.token_family_id,
        None,
        row.auth_time,
        row.web_session_id,
        Some(refresh),
    )
}

fn client_credentials(
    state: &AppState,
    client: &Client,
    form: &TokenForm,
) -> Result<Response, OAuthError> {
    if !client.may_use_client_credentials() {
        return Err(OAuthError::new(
            "unauthorized_client",
            "this client may not use the client credentials grant",
        ));
    }
    // Each suite service gets the scopes its config allows; anything else is refused, so a
    // misspelt or widened request fails loudly instead of silently getting less.
    let scope = match form
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => client
            .service_scopes
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
        Some(asked) => {
            if asked
                .split(' ')
                .filter(|s| !s.is_empty())
                .any(|s| !client.service_scopes.contains(s))
            {
                return Err(OAuthError::new(
                    "invalid_scope",
                    "this client may not have a scope it asked for",
                ));
            }
            asked.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    };
    let access = tokens::access_token(
        state,
        &tokens::AccessTokenInput {
            sub: &client.client_id,
            client_id: &client.client_id,
            scope: &scope,
            aud: &client.audiences,
            roles: None,
            family: None,
        },
    )?;
    Ok(no_store(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL.num_seconds(),
        "scope": scope,
    })))
}
