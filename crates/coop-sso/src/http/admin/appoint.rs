//! Appointing a bookkeeper: per the buyers-club spec any active member may appoint another
//! member, unless the co-op's config leaves it to admins (`bookkeeper_appointment`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use coop_web::{CsrfForm, Page};
use serde::Deserialize;
use serde_json::json;

use crate::config::BookkeeperAppointment;
use crate::directory::{self, ChangeError};
use crate::domain::Role;
use crate::http::forms::FormErrors;
use crate::signin::SignedIn;
use crate::state::AppState;
use crate::Result;

fn may_appoint(state: &AppState, me: &SignedIn) -> Result<()> {
    if me.member.has(Role::Admin)
        || state.settings.bookkeeper_appointment == BookkeeperAppointment::Members
    {
        Ok(())
    } else {
        Err(coop_web::Error::Forbidden.into())
    }
}

fn example(state: &AppState) -> String {
    directory::format_number(&state.kit.coop.member_number, 42).unwrap_or_else(|| "42".into())
}

fn render(
    page: &Page,
    state: &AppState,
    errors: &FormErrors,
    value: &str,
    done: Option<serde_json::Value>,
    status: StatusCode,
) -> Result<Response> {
    let data = errors.with(json!({
        "member_number": value,
        "example": example(state),
        "done": done,
        "admins_only": state.settings.bookkeeper_appointment == BookkeeperAppointment::Admins,
    }));
    Ok((status, page.render("admin_appoint_bookkeeper.html", &data)?).into_response())
}

pub async fn form(page: Page, State(state): State<AppState>, me: SignedIn) -> Result<Response> {
    may_appoint(&state, &me)?;
    render(
        &page,
        &state,
        &FormErrors::default(),
        "",
        None,
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub struct AppointForm {
    #[serde(default)]
    member_number: String,
}

/// A member number as on the card (`M00042`), or just its digits (`42`).
fn parse_number(state: &AppState, input: &str) -> Option<i32> {
    let input = input.trim();
    state
        .kit
        .coop
        .member_number
        .parse(input)
        .ok()
        .map(|n| n.value())
        .or_else(|| input.parse::<u32>().ok().filter(|n| *n > 0))
        .and_then(|n| i32::try_from(n).ok())
}

pub async fn submit(
    page: Page,
    State(state): State<AppState>,
    me: SignedIn,
    CsrfForm(form): CsrfForm<AppointForm>,
) -> Result<Response> {
    may_appoint(&state, &me)?;
    let value: String = form.member_number.trim().chars().take(40).collect();
    let mut errors = FormErrors::default();
    let translations = page.kit.templates.translations();
    let Some(number) = parse_number(&state, &value) else {
        let message = translations.format(
            page.lang(),
            "appoint-error-number",
            &[("example", example(&state).into())],
        );
        errors.field("member_number", message);
        return render(
            &page,
            &state,
            &errors,
            &value,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let shown = directory::format_number(&state.kit.coop.member_number, number)
        .unwrap_or_else(|| value.clone());
    match directory::appoint_bookkeeper(state.db(), me.member.member_id, number, state.now()).await
    {
        Ok(outcome) => {
            if let directory::Appointed::Asked { name, .. } = &outcome {
                tell_admins(&state, &me.member.name, name, &shown).await;
            }
            // The same answer whether or not the number belongs to someone who can be asked.
            let done = json!({ "number": shown });
            render(&page, &state, &errors, "", Some(done), StatusCode::OK)
        }
        Err(ChangeError::SelfAppointment) => {
            errors.field("member_number", page.t("appoint-error-self"));
            render(
                &page,
                &state,
                &errors,
                &value,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(ChangeError::Database(e)) => Err(e.into()),
        Err(other) => Err(anyhow::anyhow!(other).into()),
    }
}

/// Every active admin gets a mail: who appointed whom, and that the appointee must accept.
async fn tell_admins(state: &AppState, appointer: &str, appointee: &str, number: &str) {
    let admins = match crate::members::active_admins(state.db()).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!("could not list the admins to tell of an appointment: {e}");
            return;
        }
    };
    let t = state.kit.templates.translations();
    let org = state.kit.coop.organisation.name.as_str();
    for (name, email, lang) in admins {
        let lang = coop_web::Lang::parse(&lang).unwrap_or(state.kit.coop.default_lang);
        let Ok(to) = coop_domain::EmailAddress::parse(&email) else {
            continue;
        };
        let args = [
            ("org", org.into()),
            ("appointer", appointer.into()),
            ("appointee", appointee.into()),
            ("number", number.into()),
            ("link", state.url("/admin/members").into()),
        ];
        let mail = coop_web::mail::OutgoingMail {
            to,
            to_name: name,
            subject: t.format(lang, "appoint-mail-subject", &args),
            text: format!(
                "{}\n",
                t.format(lang, "appoint-mail-body", &args).trim_end()
            ),
            html: None,
            reply_to: None,
            attachments: Vec::new(),
        };
        if let Err(e) = state.mailer.send(mail).await {
            tracing::warn!(
                transient = e.is_transient(),
                "telling an admin of an appointment: {e}"
            );
        }
    }
}
