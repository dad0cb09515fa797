//! Signing in to coop-sso: password, then a second factor for roles that need one.

use crate::domain::AuditAction;
use crate::domain::MemberStatus;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use coop_domain::EmailAddress;
use coop_web::{CsrfForm, Page};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::forms::FormErrors;
use crate::signin::{self, safe_return_to};
use crate::state::AppState;
use crate::totp::{self, TotpSecret};
use crate::{password, throttle, Result};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/login/totp", get(totp_page).post(totp_submit))
        .route(
            "/logout",
            post(super::oidc::logout_submit).get(super::oidc::logout_page),
        )
}

/// A password check passed; the second factor is still to come.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingLogin {
    member_id: Uuid,
    email: String,
    return_to: String,
    started: chrono::DateTime<chrono::Utc>,
    /// Set when the member has no second factor yet and must enrol now (base32).
    new_secret: Option<String>,
}

const PENDING_KEY: &str = "sso_pending_login";

#[derive(Debug, Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
    /// `1` when a relying party asked for a fresh sign-in (prompt=login, max_age).
    reauth: Option<String>,
}

async fn login_page(
    page: Page,
    signin::MaybeSignedIn(signed_in): signin::MaybeSignedIn,
    Query(q): Query<LoginQuery>,
) -> Result<Response> {
    let return_to = safe_return_to(q.return_to.as_deref());
    let reauth = q.reauth.as_deref() == Some("1");
    if !reauth && signed_in.is_some() {
        return Ok(Redirect::to(&return_to).into_response());
    }
    let html = page.render(
        "login.html",
        &serde_json::json!({ "email": "", "return_to": return_to, "reauth": reauth }),
    )?;
    Ok(no_store((StatusCode::OK, html).into_response()))
}

/// Pages with passwords, codes or second-factor secrets are never kept by a browser or proxy.
pub(crate) fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

fn render_login(
    page: &Page,
    errors: &FormErrors,
    email: &str,
    return_to: &str,
    status: StatusCode,
) -> Result<Response> {
    let html = page.render(
        "login.html",
        &errors.with(serde_json::json!({ "email": email, "return_to": return_to })),
    )?;
    Ok(no_store((status, html).into_response()))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    return_to: Option<String>,
}

fn throttled_message(page: &Page, decision: throttle::Decision) -> String {
    match decision {
        throttle::Decision::Wait(seconds) => page.kit.templates.translations().format(
            page.lang(),
            "login-error-wait",
            &[("seconds", coop_web::i18n::FluentValue::from(seconds))],
        ),
        _ => page.t("login-error-throttled"),
    }
}

/// The client's address as nginx reports it; the service itself listens on loopback only.
pub fn client_ip(headers: &HeaderMap) -> String {
    headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| "local".to_owned(), |v| v.chars().take(64).collect())
}

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn login_submit(
    page: Page,
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response> {
    let return_to = safe_return_to(form.return_to.as_deref());
    let mut errors = FormErrors::default();
    let Ok(email) = EmailAddress::parse_account(&form.email) else {
        errors.field("email", page.t("login-error-email"));
        return render_login(
            &page,
            &errors,
            &form.email,
            &return_to,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    if form.password.is_empty() {
        errors.field("password", page.t("login-error-password-empty"));
        return render_login(
            &page,
            &errors,
            email.as_str(),
            &return_to,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let ip = client_ip(&headers);
    let now = state.now();
    let decision = throttle::check(state.db(), email.as_str(), &ip, now).await?;
    if !decision.allowed() {
        coop_web::metrics::counter!("coop_sso_logins_total", "outcome" => "throttled").increment(1);
        errors.general(throttled_message(&page, decision));
        return render_login(
            &page,
            &errors,
            email.as_str(),
            &return_to,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let row = crate::members::credentials_by_email(state.db(), email.as_str()).await?;
    let (member_id, hash, status) = match row {
        Some((id, hash, status)) => (Some(id), hash, Some(status)),
        None => (None, None, None),
    };
    let ok = password::verify(form.password, hash).await?;
    let Some(member_id) = member_id.filter(|_| ok) else {
        throttle::record_failure(state.db(), email.as_str(), &ip, now).await?;
        coop_web::metrics::counter!("coop_sso_logins_total", "outcome" => "failed").increment(1);
        errors.general(page.t("login-error-wrong"));
        return render_login(
            &page,
            &errors,
            email.as_str(),
            &return_to,
            StatusCode::UNAUTHORIZED,
        );
    };
    if status != Some(MemberStatus::Active) {
        coop_web::metrics::counter!("coop_sso_logins_total", "outcome" => "inactive").increment(1);
        errors.general(page.t("login-error-inactive"));
        return render_login(
            &page,
            &errors,
            email.as_str(),
            &return_to,
            StatusCode::FORBIDDEN,
        );
    }
    throttle::clear(state.db(), email.as_str(), &ip).await?;
    let member = signin::load_member(state.db(), member_id)
        .await?
        .ok_or(coop_web::Error::Unauthorized)?;
    if member.needs_totp() {
        return Ok(begin_second_factor(&page.session, &member, return_to, now));
    }
    signin::start(&state, &page.session, member_id, &user_agent(&headers)).await?;
    coop_web::metrics::counter!("coop_sso_logins_total", "outcome" => "ok").increment(1);
    Ok(Redirect::to(&return_to).into_response())
}

/// The password (or a mailed link and a new password) is proven; the second factor is next.
/// Members who have none yet are shown a new key to enrol.
pub(crate) fn begin_second_factor(
    session: &coop_web::Session,
    member: &crate::signin::Member,
    return_to: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    let new_secret = (!member.totp_enabled).then(|| TotpSecret::generate().to_base32());
    session.insert(
        PENDING_KEY,
        &PendingLogin {
            member_id: member.member_id,
            email: member.email.clone(),
            return_to,
            started: now,
            new_secret,
        },
    );
    Redirect::to("/login/totp").into_response()
}

fn secret_from_base32(s: &str) -> Option<TotpSecret> {
    let bytes = data_encoding::BASE32_NOPAD.decode(s.as_bytes()).ok()?;
    TotpSecret::from_bytes(&bytes).ok()
}

fn pending(page: &Page, state: &AppState) -> Option<PendingLogin> {
    page.session
        .get::<PendingLogin>(PENDING_KEY)
        .filter(|p| state.now() - p.started < chrono::Duration::minutes(10))
}

async fn totp_page(page: Page, State(state): State<AppState>) -> Result<Response> {
    let Some(p) = pending(&page, &state) else {
        return Ok(Redirect::to("/login").into_response());
    };
    render_totp(&page, &state, &p, &FormErrors::default(), StatusCode::OK)
}

fn render_totp(
    page: &Page,
    state: &AppState,
    p: &PendingLogin,
    errors: &FormErrors,
    status: StatusCode,
) -> Result<Response> {
    let setup = p.new_secret.as_ref().and_then(|s| secret_from_base32(s));
    let data = errors.with(serde_json::json!({
        "action": "/login/totp",
        "setup": setup.is_some(),
        "secret": p.new_secret,
        "otpauth_uri": setup.map(|s| totp::otpauth_uri(&s, &state.kit.coop.organisation.name, &p.email)),
    }));
    Ok(no_store(
        (status, page.render("totp.html", &data)?).into_response(),
    ))
}

#[derive(Debug, Deserialize)]
struct TotpForm {
    code: String,
}

async fn totp_submit(
    page: Page,
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<TotpForm>,
) -> Result<Response> {
    let Some(p) = pending(&page, &state) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let now = state.now();
    let ip = client_ip(&headers);
    let mut errors = FormErrors::default();
    let decision = throttle::check(state.db(), &p.email, &ip, now).await?;
    if !decision.allowed() {
        page.session.remove(PENDING_KEY);
        errors.general(throttled_message(&page, decision));
        return render_totp(&page, &state, &p, &errors, StatusCode::TOO_MANY_REQUESTS);
    }
    let (secret, last_step) = crate::members::totp_state(state.db(), p.member_id).await?;
    let enrolling = p.new_secret.as_ref().and_then(|s| secret_from_base32(s));
    let context = crate::sealing::totp_context(p.member_id);
    let secret = match (&enrolling, secret) {
        (Some(new), _) => new.clone(),
        (None, Some(sealed)) => {
            let bytes = state
                .sealer
                .open(&context, &sealed)
                .map_err(|e| anyhow::anyhow!("stored TOTP secret: {e}"))?;
            TotpSecret::from_bytes(&bytes)
                .map_err(|e| anyhow::anyhow!("stored TOTP secret: {e}"))?
        }
        (None, None) => return Ok(Redirect::to("/login").into_response()),
    };
    let step = totp::verify(&secret, &form.code, now.timestamp(), last_step);
    // The update only succeeds for a step newer than the last one used: no replay, even racing.
    let accepted = match step {
        Some(step) => {
            crate::members::accept_totp_step(
                state.db(),
                p.member_id,
                step,
                enrolling
                    .as_ref()
                    .map(|s| state.sealer.seal(&context, s.as_bytes())),
            )
            .await?
        }
        None => false,
    };
    if !accepted {
        throttle::record_failure(state.db(), &p.email, &ip, now).await?;
        errors.field("code", page.t("totp-error-wrong"));
        return render_totp(&page, &state, &p, &errors, StatusCode::UNAUTHORIZED);
    }
    if enrolling.is_some() {
        let mut tx = state.db().begin().await?;
        crate::members::audit(
            &mut tx,
            Some(p.member_id),
            Some(p.member_id),
            AuditAction::MemberTotpEnrolled,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
    }
    page.session.remove(PENDING_KEY);
    throttle::clear(state.db(), &p.email, &ip).await?;
    signin::start(&state, &page.session, p.member_id, &user_agent(&headers)).await?;
    coop_web::metrics::counter!("coop_sso_logins_total", "outcome" => "ok").increment(1);
    Ok(Redirect::to(&p.return_to).into_response())
}
