//! The device authorization grant (RFC 8628), for pairing a till: the till shows a short code,
//! a manager signed in on any computer enters it at `/device` and names the till, and the till,
//! polling the token endpoint, receives tokens of its own (subject `till:<id>`).

use axum::extract::{Query, State};
use axum::http::header::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use coop_web::{CsrfForm, Page};
use rand::Rng as _;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::token::{new_refresh_token, no_store};
use super::{authenticate_client, OAuthError};
use crate::clients::{Client, ClientKind};
use crate::domain::Role;
use crate::http::forms::FormErrors;
use crate::secrets;
use crate::signin::SignedIn;
use crate::state::AppState;
use crate::tokens::ACCESS_TOKEN_TTL;
use crate::Result;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const CODE_TTL: Duration = Duration::minutes(10);
const INTERVAL_SECONDS: i64 = 5;
/// Consonants only: no vowels (no words), no look-alikes (no 0/O, 1/I/L/Y).
const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

fn new_user_code() -> String {
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Accepts what people type: lower case, a dash, spaces.
fn normalise_user_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn display_code(code: &str) -> String {
    format!("{}-{}", &code[..4], &code[4..])
}

#[derive(Debug, Deserialize)]
pub struct DeviceForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

pub async fn device_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<DeviceForm>(&body) else {
        return OAuthError::new("invalid_request", "the form could not be read").into_response();
    };
    let client = match authenticate_client(
        &state,
        &headers,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if client.kind != ClientKind::Till {
        return OAuthError::new(
            "unauthorized_client",
            "this client may not use the device grant",
        )
        .into_response();
    }
    let scope = form.scope.unwrap_or_else(|| "till".into());
    if scope
        .split(' ')
        .any(|s| s != "till" && s != "offline_access")
    {
        return OAuthError::new("invalid_scope", "a till asks for the `till` scope")
            .into_response();
    }
    let device_code = secrets::new_token();
    let now = state.now();
    // A clash of user codes is unlikely (20^8); try a few times rather than fail.
    for _ in 0..5 {
        let user_code = new_user_code();
        let inserted = sqlx::query(
            "insert into device_authorization (device_code_hash, user_code, client_id, scope, created_at, expires_at)
             values ($1, $2, $3, $4, $5, $6) on conflict (user_code) do nothing",
        )
        .bind(secrets::hash(&device_code))
        .bind(&user_code)
        .bind(&client.client_id)
        .bind(&scope)
        .bind(now)
        .bind(now + CODE_TTL)
        .execute(state.db())
        .await;
        match inserted {
            Ok(r) if r.rows_affected() == 1 => {
                let uri = state.url("/device");
                return no_store(json!({
                    "device_code": device_code,
                    "user_code": display_code(&user_code),
                    "verification_uri": uri,
                    "verification_uri_complete": format!("{uri}?user_code={user_code}"),
                    "expires_in": CODE_TTL.num_seconds(),
                    "interval": INTERVAL_SECONDS,
                }));
            }
            Ok(_) => {}
            Err(e) => return OAuthError::from(e).into_response(),
        }
    }
    OAuthError::server("no free user code").into_response()
}

#[derive(sqlx::FromRow)]
struct DeviceRow {
    device_code_hash: Vec<u8>,
    client_id: String,
    scope: String,
    expires_at: DateTime<Utc>,
    last_polled_at: Option<DateTime<Utc>>,
    till_device_id: Option<Uuid>,
    denied_at: Option<DateTime<Utc>>,
    used_at: Option<DateTime<Utc>>,
}

pub async fn device_grant(
    state: &AppState,
    client: &Client,
    device_code: Option<&str>,
) -> std::result::Result<Response, OAuthError> {
    if client.kind != ClientKind::Till {
        return Err(OAuthError::new(
            "unauthorized_client",
            "this client may not use the device grant",
        ));
    }
    let code =
        device_code.ok_or_else(|| OAuthError::new("invalid_request", "device_code is missing"))?;
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let row: Option<DeviceRow> = sqlx::query_as(
        "select device_code_hash, client_id, scope, expires_at, last_polled_at, till_device_id, denied_at, used_at
         from device_authorization where device_code_hash = $1 for update",
    )
    .bind(secrets::hash(code))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row.filter(|r| r.client_id == client.client_id) else {
        return Err(OAuthError::invalid_grant("the device code is not valid"));
    };
    sqlx::query("update device_authorization set last_polled_at = $2 where device_code_hash = $1")
        .bind(&row.device_code_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let too_fast = row
        .last_polled_at
        .is_some_and(|t| now - t < Duration::seconds(INTERVAL_SECONDS));
    let answer = if row.used_at.is_some() {
        Err(OAuthError::invalid_grant(
            "the device code has already been used",
        ))
    } else if row.expires_at <= now {
        Err(OAuthError::new(
            "expired_token",
            "the code has expired; start pairing again",
        ))
    } else if row.denied_at.is_some() {
        Err(OAuthError::new(
            "access_denied",
            "a manager declined the pairing",
        ))
    } else if too_fast {
        Err(OAuthError::new("slow_down", "poll less often"))
    } else if let Some(till) = row.till_device_id {
        sqlx::query("update device_authorization set used_at = $2 where device_code_hash = $1")
            .bind(&row.device_code_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let family = Uuid::new_v4();
        sqlx::query(
            "insert into token_family (token_family_id, client_id, till_device_id, scope, auth_time, created_at)
             values ($1, $2, $3, $4, $5, $5)",
        )
        .bind(family)
        .bind(&client.client_id)
        .bind(till)
        .bind(&row.scope)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let refresh =
            new_refresh_token(&mut tx, family, now, now + crate::tokens::REFRESH_TOKEN_TTL).await?;
        tx.commit().await?;
        return till_tokens(state, client, till, &row.scope, family, refresh);
    } else {
        Err(OAuthError::new(
            "authorization_pending",
            "waiting for a manager to approve",
        ))
    };
    tx.commit().await?;
    answer
}

/// An access token for a till, and its (rotating) refresh token.
pub fn till_tokens(
    state: &AppState,
    client: &Client,
    till: Uuid,
    scope: &str,
    family: Uuid,
    refresh: String,
) -> std::result::Result<Response, OAuthError> {
    let sub = format!("till:{till}");
    let access = crate::tokens::access_token(
        state,
        &crate::tokens::AccessTokenInput {
            sub: &sub,
            client_id: &client.client_id,
            scope,
            aud: &client.audiences,
            roles: None,
            family: Some(family),
        },
    )?;
    Ok(no_store(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL.num_seconds(),
        "refresh_token": refresh,
        "scope": scope,
    })))
}

fn may_pair(me: &SignedIn) -> bool {
    me.member.has(Role::Manager) || me.member.has(Role::Admin)
}

#[derive(Debug, Deserialize)]
pub struct ApproveQuery {
    user_code: Option<String>,
}

pub async fn approve_page(
    page: Page,
    me: SignedIn,
    Query(q): Query<ApproveQuery>,
) -> Result<Response> {
    if !may_pair(&me) {
        return Err(coop_web::Error::Forbidden.into());
    }
    let code = q
        .user_code
        .map(|c| normalise_user_code(&c))
        .unwrap_or_default();
    render(
        &page,
        &FormErrors::default(),
        &code,
        "",
        None,
        StatusCode::OK,
    )
}

fn render(
    page: &Page,
    errors: &FormErrors,
    code: &str,
    name: &str,
    done: Option<&str>,
    status: StatusCode,
) -> Result<Response> {
    let html = page.render(
        "device.html",
        &errors.with(json!({ "user_code": code, "name": name, "done": done })),
    )?;
    Ok((status, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    user_code: String,
    name: String,
    decision: String,
}

pub async fn approve_submit(
    page: Page,
    State(state): State<AppState>,
    me: SignedIn,
    CsrfForm(form): CsrfForm<ApproveForm>,
) -> Result<Response> {
    if !may_pair(&me) {
        return Err(coop_web::Error::Forbidden.into());
    }
    let code = normalise_user_code(&form.user_code);
    let name = form.name.trim();
    let approve = form.decision == "approve";
    let mut errors = FormErrors::default();
    if code.len() != 8 || !code.bytes().all(|b| ALPHABET.contains(&b)) {
        errors.field("user_code", page.t("device-error-code-format"));
    }
    if approve && (name.is_empty() || name.chars().count() > 100) {
        errors.field("name", page.t("device-error-name"));
    }
    if !errors.is_empty() {
        return render(
            &page,
            &errors,
            &form.user_code,
            name,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let pending: Option<Vec<u8>> = sqlx::query_scalar(
        "select device_code_hash from device_authorization
         where user_code = $1 and expires_at > $2 and till_device_id is null and denied_at is null
         for update",
    )
    .bind(&code)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(hash) = pending else {
        errors.field("user_code", page.t("device-error-code-unknown"));
        return render(
            &page,
            &errors,
            &form.user_code,
            name,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    if approve {
        let till = Uuid::new_v4();
        sqlx::query("insert into till_device (till_device_id, name, paired_by, paired_at) values ($1, $2, $3, $4)")
            .bind(till)
            .bind(name)
            .bind(me.member.member_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update device_authorization set approved_by = $2, approved_at = $3, till_device_id = $4
             where device_code_hash = $1",
        )
        .bind(&hash)
        .bind(me.member.member_id)
        .bind(now)
        .bind(till)
        .execute(&mut *tx)
        .await?;
        crate::members::audit(
            &mut tx,
            Some(me.member.member_id),
            None,
            "till.paired",
            json!({ "till": till, "name": name }),
        )
        .await?;
    } else {
        sqlx::query("update device_authorization set denied_at = $2 where device_code_hash = $1")
            .bind(&hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        crate::members::audit(
            &mut tx,
            Some(me.member.member_id),
            None,
            "till.denied",
            json!({ "user_code": code }),
        )
        .await?;
    }
    tx.commit().await?;
    let done = if approve {
        "device-approved"
    } else {
        "device-denied"
    };
    render(
        &page,
        &FormErrors::default(),
        "",
        name,
        Some(done),
        StatusCode::OK,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_typeable() {
        let c = new_user_code();
        assert_eq!(c.len(), 8);
        assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(normalise_user_code(" bcdf-ghjk "), "BCDFGHJK");
        assert_eq!(display_code("BCDFGHJK"), "BCDF-GHJK");
    }
}
