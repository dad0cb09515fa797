//! The device authorization grant (RFC 8628), for pairing a till: the till shows a short code,
//! a manager signed in on any computer enters it at `/device` and names the till, and the till,
//! polling the token endpoint, receives tokens of its own (subject `till:<id>`).

use crate::devices;
use crate::domain::AuditAction;
use axum::extract::State;
use axum::http::header::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
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
/// RFC 8628 §3.5: each `slow_down` adds this to the till's polling interval.
const SLOW_DOWN_STEP: i32 = 5;
/// Pairing requests one address may start in [`RATE_WINDOW`].
const MAX_PER_ADDRESS: i64 = 10;
const RATE_WINDOW: Duration = Duration::minutes(10);
/// Consonants only: no vowels (no words), no look-alikes (no 0/O, 1/I/L/Y).
pub(crate) const ALPHABET: &[u8] = b"BCDFGHJKMNPQRSTVWXZ";

fn new_user_code() -> String {
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Accepts what people type: lower case, a dash, spaces.
pub(crate) fn normalise_user_code(input: &str) -> String {
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
    /// The till's own name for itself (its host name), shown to the manager who approves.
    device_name: Option<String>,
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
    let device_name = form
        .device_name
        .as_deref()
        .map(|n| {
            n.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        })
        .filter(|n| !n.is_empty());
    let ip = crate::http::login::client_ip(&headers);
    let now = state.now();
    // Expired requests go after a day; each address may start only so many pairings.
    let started: Result<i64, sqlx::Error> = async {
        devices::delete_expired(state.db(), now - Duration::days(1)).await?;
        devices::started_from(state.db(), &ip, now - RATE_WINDOW).await
    }
    .await;
    match started {
        Ok(n) if n >= MAX_PER_ADDRESS => {
            let mut res = OAuthError::new(
                "slow_down",
                "too many pairings started from this address; wait a few minutes",
            )
            .into_response();
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return res;
        }
        Ok(_) => {}
        Err(e) => return OAuthError::from(e).into_response(),
    }
    let device_code = secrets::new_token();
    // A clash of user codes is unlikely (19^8); try a few times rather than fail.
    for _ in 0..5 {
        let user_code = new_user_code();
        let inserted = devices::insert_request(
            state.db(),
            &devices::NewRequest {
                device_code_hash: &secrets::hash(&device_code),
                user_code: &user_code,
                client_id: &client.client_id,
                scope: &scope,
                created_at: now,
                expires_at: now + CODE_TTL,
                client_ip: &ip,
                device_name: device_name.as_deref(),
            },
        )
        .await;
        match inserted {
            Ok(true) => {
                // No verification_uri_complete: the manager types the code the till shows, so
                // a link cannot trick them into approving some other device.
                return no_store(json!({
                    "device_code": device_code,
                    "user_code": display_code(&user_code),
                    "verification_uri": state.url("/device"),
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
    let row = devices::lock_by_device_code(&mut tx, &secrets::hash(code)).await?;
    let Some(row) = row.filter(|r| r.client_id == client.client_id) else {
        return Err(OAuthError::invalid_grant("the device code is not valid"));
    };
    devices::mark_polled(&mut tx, &row.device_code_hash, now).await?;
    let too_fast = row
        .last_polled_at
        .is_some_and(|t| now - t < Duration::seconds(i64::from(row.interval_seconds)));
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
        // RFC 8628 §3.5: the interval grows by 5 s for this and every later request.
        devices::slow_down(&mut tx, &row.device_code_hash, SLOW_DOWN_STEP).await?;
        Err(OAuthError::new(
            "slow_down",
            "poll less often: the interval is 5 seconds longer now",
        ))
    } else if let Some(till) = row.till_device_id {
        devices::mark_used(&mut tx, &row.device_code_hash, now).await?;
        let family = Uuid::new_v4();
        crate::grants::insert_family(
            &mut tx,
            &crate::grants::NewFamily {
                token_family_id: family,
                client_id: &client.client_id,
                member_id: None,
                till_device_id: Some(till),
                web_session_id: None,
                code_hash: None,
                scope: &row.scope,
                auth_time: now,
                created_at: now,
            },
        )
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

/// `GET /device`: the manager types the code the till shows. A code in the address is not
/// taken: a link must not be able to bring anyone to approving a device they cannot see.
pub async fn approve_page(page: Page, me: SignedIn) -> Result<Response> {
    if !may_pair(&me) {
        return Err(coop_web::Error::Forbidden.into());
    }
    render(&page, &FormErrors::default(), &json!({}), StatusCode::OK)
}

fn render(
    page: &Page,
    errors: &FormErrors,
    data: &serde_json::Value,
    status: StatusCode,
) -> Result<Response> {
    let html = page.render("device.html", &errors.with(data.clone()))?;
    Ok((status, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    user_code: String,
    #[serde(default)]
    name: Option<String>,
    /// Absent on the first step (the code typed): the request is shown for a decision.
    #[serde(default)]
    decision: Option<String>,
}

/// `POST /device`: first the code alone, answered with what asked (when, from which address,
/// under which name); then the manager's decision with the till's name.
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
    let name = form.name.as_deref().unwrap_or("").trim();
    let mut errors = FormErrors::default();
    let entry = |errors: &FormErrors| {
        render(
            &page,
            errors,
            &json!({ "user_code": form.user_code }),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    if code.len() != 8 || !code.bytes().all(|b| ALPHABET.contains(&b)) {
        errors.field("user_code", page.t("device-error-code-format"));
        return entry(&errors);
    }
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let pending = devices::lock_pending(&mut tx, &code, now).await?;
    let Some(pending) = pending else {
        errors.field("user_code", page.t("device-error-code-unknown"));
        return entry(&errors);
    };
    let request = json!({
        "user_code": display_code(&code),
        "requested_at": pending.created_at,
        "client_ip": pending.client_ip,
        "device_name": pending.device_name,
        "name": if name.is_empty() { pending.device_name.clone().unwrap_or_default() } else { name.to_owned() },
        "confirm": true,
    });
    let Some(decision) = form.decision.as_deref() else {
        return render(&page, &errors, &request, StatusCode::OK);
    };
    let approve = decision == "approve";
    if approve && (name.is_empty() || name.chars().count() > 100) {
        errors.field("name", page.t("device-error-name"));
        return render(&page, &errors, &request, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let hash = pending.device_code_hash;
    if approve {
        let till = Uuid::new_v4();
        devices::approve(&mut tx, &hash, till, name, Some(me.member.member_id), now).await?;
        crate::members::audit(
            &mut tx,
            Some(me.member.member_id),
            None,
            AuditAction::TillPaired,
            json!({ "till": till, "name": name }),
        )
        .await?;
    } else {
        devices::deny(&mut tx, &hash, now).await?;
        crate::members::audit(
            &mut tx,
            Some(me.member.member_id),
            None,
            AuditAction::TillDenied,
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
        &json!({ "done": done, "name": name }),
        StatusCode::OK,
    )
}
