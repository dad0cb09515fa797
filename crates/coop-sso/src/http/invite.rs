//! One-time links by mail: accepting an invitation (`/invite/{token}`), asking for a password
//! reset (`/forgot`) and using it (`/reset/{token}`). Links are bearer secrets: they are never
//! logged, only their hash is stored, and pages that carry one are not cached.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, USER_AGENT};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use coop_domain::EmailAddress;
use coop_web::mail::{Delivery, OutgoingMail};
use coop_web::{CsrfForm, Lang, Page};
use serde::Deserialize;
use serde_json::json;

use super::forms::FormErrors;
use crate::directory::{self, LinkHolder, LinkPurpose, RedeemError};
use crate::password::{self, PasswordError};
use crate::signin;
use crate::state::AppState;
use crate::{throttle, Result};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invite/{token}", get(invite_page).post(invite_submit))
        .route("/forgot", get(forgot_page).post(forgot_submit))
        .route("/reset/{token}", get(reset_page).post(reset_submit))
}

/// What became of a link sent by mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailOutcome {
    Sent,
    NotConfigured,
    Failed,
}

/// Mails a link to its member, in the member's language. A failure is logged (the mailer's
/// errors name only the recipient's domain and the server) and reported, never raised.
pub async fn send_link(
    state: &AppState,
    purpose: LinkPurpose,
    to: &LinkHolder,
    token: &str,
) -> Result<MailOutcome> {
    let (path, subject_id, body_id) = match purpose {
        LinkPurpose::Invite => ("/invite/", "mail-invite-subject", "mail-invite-body"),
        LinkPurpose::Reset => ("/reset/", "mail-reset-subject", "mail-reset-body"),
    };
    let lang = Lang::parse(&to.preferred_lang).unwrap_or(state.kit.coop.default_lang);
    let link = state.url(&format!("{path}{token}"));
    let org = state.kit.coop.organisation.name.as_str();
    let t = state.kit.templates.translations();
    let subject = t.format(lang, subject_id, &[("org", org.into())]);
    let text = t.format(
        lang,
        body_id,
        &[
            ("org", org.into()),
            ("name", to.name.as_str().into()),
            ("link", link.as_str().into()),
        ],
    );
    let Ok(address) = EmailAddress::parse(&to.email) else {
        tracing::warn!("a member's stored address is not usable for mail");
        return Ok(MailOutcome::Failed);
    };
    let mail = OutgoingMail {
        to: address,
        to_name: to.name.clone(),
        subject,
        text: format!("{}\n", text.trim_end()),
        html: None,
        reply_to: None,
        attachments: Vec::new(),
    };
    match state.mailer.send(mail).await {
        Ok(Delivery::Sent) => {
            directory::mark_sent_by_mail(state.db(), token).await?;
            Ok(MailOutcome::Sent)
        }
        Ok(Delivery::NotConfigured) => Ok(MailOutcome::NotConfigured),
        Err(e) => {
            tracing::warn!(transient = e.is_transient(), "{e}");
            Ok(MailOutcome::Failed)
        }
    }
}

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Real tokens are 43 characters; anything far longer is not looked up.
fn plausible(token: &str) -> bool {
    token.len() <= 64
}

async fn holder(state: &AppState, token: &str, purpose: LinkPurpose) -> Result<Option<LinkHolder>> {
    if !plausible(token) {
        return Ok(None);
    }
    Ok(directory::find_link(state.db(), token, purpose, state.now()).await?)
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_repeat: String,
}

/// What is wrong with a new password, if anything.
fn password_problems(page: &Page, form: &PasswordForm) -> Option<FormErrors> {
    let t = page.kit.templates.translations();
    let mut errors = FormErrors::default();
    let mut wrong = true;
    match password::validate_new(&form.password) {
        Ok(()) => wrong = false,
        Err(PasswordError::TooShort) => {
            errors.field(
                "password",
                t.format(
                    page.lang(),
                    "password-error-too-short",
                    &[("min", password::MIN_LENGTH.into())],
                ),
            );
        }
        Err(PasswordError::TooLong) => {
            errors.field(
                "password",
                t.format(
                    page.lang(),
                    "password-error-too-long",
                    &[("max", password::MAX_LENGTH.into())],
                ),
            );
        }
    }
    if form.password != form.password_repeat {
        errors.field("password_repeat", page.t("password-error-mismatch"));
        wrong = true;
    }
    wrong.then_some(errors)
}

/// A page that may carry a one-time link in its form: never cached.
fn no_store(status: StatusCode, html: axum::response::Html<String>) -> Response {
    (status, [(CACHE_CONTROL, "no-store")], html).into_response()
}

fn render_link_page(
    page: &Page,
    template: &str,
    data: serde_json::Value,
    errors: &FormErrors,
    status: StatusCode,
) -> Result<Response> {
    let mut data = errors.with(data);
    data["min_length"] = json!(password::MIN_LENGTH);
    data["org"] = json!(page.kit.coop.organisation.name);
    Ok(no_store(status, page.render(template, &data)?))
}

fn invalid(page: &Page, template: &str) -> Result<Response> {
    render_link_page(
        page,
        template,
        json!({ "invalid": true }),
        &FormErrors::default(),
        StatusCode::GONE,
    )
}

/// The page and form address of a link: invitations and resets differ only in these.
fn link_template(purpose: LinkPurpose) -> &'static str {
    match purpose {
        LinkPurpose::Invite => "invite.html",
        LinkPurpose::Reset => "reset.html",
    }
}

/// The choose-a-password form of a live link, with `errors` (empty on first view).
fn link_form(
    page: &Page,
    purpose: LinkPurpose,
    token: &str,
    h: &LinkHolder,
    errors: &FormErrors,
    status: StatusCode,
) -> Result<Response> {
    let prefix = match purpose {
        LinkPurpose::Invite => "/invite/",
        LinkPurpose::Reset => "/reset/",
    };
    let data = json!({ "holder": h, "action": format!("{prefix}{token}") });
    render_link_page(page, link_template(purpose), data, errors, status)
}

/// GET of an invitation or reset link: the form, or "this link does not work any more".
async fn show_link(
    page: &Page,
    state: &AppState,
    token: &str,
    purpose: LinkPurpose,
) -> Result<Response> {
    match holder(state, token, purpose).await? {
        Some(h) => link_form(
            page,
            purpose,
            token,
            &h,
            &FormErrors::default(),
            StatusCode::OK,
        ),
        None => invalid(page, link_template(purpose)),
    }
}

async fn invite_page(
    page: Page,
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response> {
    show_link(&page, &state, &token, LinkPurpose::Invite).await
}

async fn invite_submit(
    page: Page,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response> {
    let Some(h) = holder(&state, &token, LinkPurpose::Invite).await? else {
        return invalid(&page, "invite.html");
    };
    if let Some(errors) = password_problems(&page, &form) {
        return link_form(
            &page,
            LinkPurpose::Invite,
            &token,
            &h,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let hash = password::hash(form.password).await?;
    let format = &state.kit.coop.member_number;
    let member_id =
        match directory::accept_invite(state.db(), format, &token, &hash, state.now()).await {
            Ok(id) => id,
            Err(RedeemError::Invalid) => return invalid(&page, "invite.html"),
            Err(RedeemError::Database(e)) => return Err(e.into()),
        };
    let member = signin::load_member(state.db(), member_id)
        .await?
        .ok_or(coop_web::Error::NotFound)?;
    if member.needs_totp() {
        // An admin or bookkeeper enrols the second factor before the first session starts.
        return Ok(super::login::begin_second_factor(
            &page.session,
            &member,
            "/account".into(),
            state.now(),
        ));
    }
    signin::start(&state, &page.session, member_id, &user_agent(&headers)).await?;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Debug, Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

fn render_forgot(
    page: &Page,
    errors: &FormErrors,
    email: &str,
    sent: bool,
    status: StatusCode,
) -> Result<Response> {
    let html = page.render(
        "forgot.html",
        &errors.with(json!({ "email": email, "sent": sent })),
    )?;
    Ok((status, html).into_response())
}

async fn forgot_page(page: Page) -> Result<Response> {
    render_forgot(&page, &FormErrors::default(), "", false, StatusCode::OK)
}

/// Answers the same whether or not the address belongs to anyone; the mail goes out in the
/// background so the answer takes as long either way.
async fn forgot_submit(
    page: Page,
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Result<Response> {
    let typed: String = form.email.trim().chars().take(300).collect();
    let mut errors = FormErrors::default();
    let Ok(email) = EmailAddress::parse_account(&typed) else {
        errors.field("email", page.t("forgot-error-email"));
        return render_forgot(
            &page,
            &errors,
            &typed,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let client = super::login::client_ip(&headers);
    let now = state.now();
    if !directory::note_reset_request(state.db(), email.as_str(), &client, now).await? {
        errors.general(page.t("forgot-error-throttled"));
        return render_forgot(
            &page,
            &errors,
            email.as_str(),
            false,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    if let Some((h, token)) = directory::issue_reset(state.db(), &email, now).await? {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = send_link(&state, LinkPurpose::Reset, &h, &token).await {
                tracing::error!("sending a password reset link: {e}");
            }
        });
    }
    render_forgot(
        &page,
        &FormErrors::default(),
        email.as_str(),
        true,
        StatusCode::OK,
    )
}

async fn reset_page(
    page: Page,
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response> {
    show_link(&page, &state, &token, LinkPurpose::Reset).await
}

async fn reset_submit(
    page: Page,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response> {
    let Some(h) = holder(&state, &token, LinkPurpose::Reset).await? else {
        return invalid(&page, "reset.html");
    };
    if let Some(errors) = password_problems(&page, &form) {
        return link_form(
            &page,
            LinkPurpose::Reset,
            &token,
            &h,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let hash = password::hash(form.password).await?;
    let member_id = match directory::reset_password(state.db(), &token, &hash, state.now()).await {
        Ok(id) => id,
        Err(RedeemError::Invalid) => return invalid(&page, "reset.html"),
        Err(RedeemError::Database(e)) => return Err(e.into()),
    };
    // The member may have locked themselves out by guessing; the new password is good now.
    throttle::clear_account(state.db(), &h.email).await?;
    let member = signin::load_member(state.db(), member_id)
        .await?
        .ok_or(coop_web::Error::NotFound)?;
    if member.needs_totp() {
        // A mailed link is one factor; a role that needs two signs in through both.
        let data = json!({ "done": true });
        return render_link_page(
            &page,
            "reset.html",
            data,
            &FormErrors::default(),
            StatusCode::OK,
        );
    }
    signin::start(&state, &page.session, member_id, &user_agent(&headers)).await?;
    page.session.insert("sso_notice", &"reset-done-signed-in");
    Ok(Redirect::to("/account").into_response())
}
