//! Inviting members: the form, the confirmation (which shows the link only when it could not be
//! mailed), and sending an invitation again.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use coop_domain::EmailAddress;
use coop_web::{CsrfForm, Lang, Page};
use serde_json::json;
use uuid::Uuid;

use super::{form_value, role_choices, roles_from_form, Admin};
use crate::directory::{self, ChangeError, Invitee, LinkHolder, LinkPurpose};
use crate::domain::Role;
use crate::http::forms::FormErrors;
use crate::http::invite::{send_link, MailOutcome};
use crate::members::MemberError;
use crate::state::AppState;
use crate::Result;

pub async fn form(page: Page, State(state): State<AppState>, _: Admin) -> Result<Response> {
    let defaults = json!({ "email": "", "name": "", "lang": state.kit.coop.default_lang.code() });
    render_form(
        &page,
        &state,
        &FormErrors::default(),
        &defaults,
        &[Role::Member].into(),
        StatusCode::OK,
    )
}

fn render_form(
    page: &Page,
    state: &AppState,
    errors: &FormErrors,
    values: &serde_json::Value,
    roles: &BTreeSet<Role>,
    status: StatusCode,
) -> Result<Response> {
    let languages: Vec<serde_json::Value> = state
        .kit
        .coop
        .languages
        .iter()
        .map(|l| json!({ "code": l.code(), "name": l.native_name(), "selected": values["lang"] == l.code() }))
        .collect();
    let data = errors.with(json!({
        "values": values,
        "languages": languages,
        "roles": role_choices(roles),
        "nav": "invite",
    }));
    Ok((status, page.render("admin_invite.html", &data)?).into_response())
}

pub async fn submit(
    page: Page,
    State(state): State<AppState>,
    Admin(me): Admin,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response> {
    let raw_email = form_value(&pairs, "email").unwrap_or_default().trim();
    let name = form_value(&pairs, "name").unwrap_or_default().trim();
    let raw_lang = form_value(&pairs, "lang").unwrap_or_default();
    let values = json!({ "email": raw_email, "name": name, "lang": raw_lang });
    let mut errors = FormErrors::default();
    // The directory keeps addresses in lower case; sign-in looks them up that way.
    let email = EmailAddress::parse_account(raw_email);
    if email.is_err() {
        errors.field("email", page.t("admin-error-email"));
    }
    let name_ok = !name.is_empty() && name.chars().count() <= 200;
    if !name_ok {
        errors.field("name", page.t("admin-error-name"));
    }
    let lang = Lang::parse(raw_lang)
        .ok()
        .filter(|l| state.kit.coop.languages.contains(l));
    if lang.is_none() {
        errors.field("lang", page.t("admin-error-lang"));
    }
    let roles = roles_from_form(&pairs);
    if roles.is_none() {
        errors.field("roles", page.t("admin-error-roles"));
    }
    let (Ok(email), Some(lang), Some(roles), true) = (email, lang, roles.clone(), name_ok) else {
        let shown = roles.unwrap_or_default();
        return render_form(
            &page,
            &state,
            &errors,
            &values,
            &shown,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let invitee = Invitee {
        name: name.to_owned(),
        email: email.clone(),
        lang,
        roles: roles.iter().copied().collect(),
    };
    let format = &state.kit.coop.member_number;
    let (row, token) = match directory::invite(
        state.db(),
        format,
        invitee,
        Some(me.member.member_id),
        state.now(),
    )
    .await
    {
        Ok(done) => done,
        Err(MemberError::EmailTaken) => {
            errors.field("email", page.t("admin-error-email-taken"));
            return render_form(
                &page,
                &state,
                &errors,
                &values,
                &roles,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        Err(MemberError::Database(e)) => return Err(e.into()),
    };
    let holder = LinkHolder {
        member_id: row.member_id,
        member_number: row.member_number,
        name: row.name,
        email: row.email,
        preferred_lang: row.preferred_lang,
    };
    sent_page(&page, &state, &holder, &token).await
}

/// Sends the invitation and says what became of it. The link itself appears on the page only
/// when it could not be mailed, so the admin can hand it over.
async fn sent_page(
    page: &Page,
    state: &AppState,
    holder: &LinkHolder,
    token: &str,
) -> Result<Response> {
    let outcome = send_link(state, LinkPurpose::Invite, holder, token).await?;
    let link = (outcome != MailOutcome::Sent).then(|| state.url(&format!("/invite/{token}")));
    let data = json!({
        "name": holder.name,
        "email": holder.email,
        "number": directory::format_number(&state.kit.coop.member_number, holder.member_number),
        "member_url": format!("/admin/members/{}", holder.member_id),
        "outcome": match outcome {
            MailOutcome::Sent => "sent",
            MailOutcome::NotConfigured => "not_configured",
            MailOutcome::Failed => "failed",
        },
        "link": link,
        "nav": "invite",
    });
    let html = page.render("admin_invite_sent.html", &data)?;
    // The page may hold a one-time link: keep it out of every cache.
    Ok(([(CACHE_CONTROL, "no-store")], html).into_response())
}

pub async fn resend(
    page: Page,
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> Result<Response> {
    match directory::reissue_invite(state.db(), Some(me.member.member_id), id, state.now()).await {
        Ok((holder, token)) => sent_page(&page, &state, &holder, &token).await,
        Err(ChangeError::WrongStatus) => {
            super::members::refused(&page, &state, &me, id, "status", "admin-error-status").await
        }
        Err(ChangeError::NotFound) => Err(coop_web::Error::NotFound.into()),
        Err(ChangeError::Database(e)) => Err(e.into()),
        Err(other) => Err(anyhow::anyhow!(other).into()),
    }
}
