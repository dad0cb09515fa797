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
    let format = &state.kit.coop.member_number;
    let message_id = match directory::appoint_bookkeeper(
        state.db(),
        format,
        me.member.member_id,
        number,
        state.now(),
    )
    .await
    {
        Ok((_, name)) => {
            let done = json!({ "name": name, "number": directory::format_number(format, number) });
            return render(&page, &state, &errors, "", Some(done), StatusCode::OK);
        }
        Err(ChangeError::NotFound) => "appoint-error-not-found",
        Err(ChangeError::SelfAppointment) => "appoint-error-self",
        Err(ChangeError::WrongStatus) => "appoint-error-not-active",
        Err(ChangeError::AlreadyHolds) => "appoint-error-already",
        Err(ChangeError::Database(e)) => return Err(e.into()),
        Err(other) => return Err(anyhow::anyhow!(other).into()),
    };
    errors.field("member_number", page.t(message_id));
    render(
        &page,
        &state,
        &errors,
        &value,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}
