//! The member's own page: details, roles, household, and the browsers signed in, each of which
//! can be signed out from here.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use coop_web::{CsrfForm, Page};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::Role;
use crate::signin::{self, SignedIn};
use crate::state::AppState;
use crate::Result;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account_page))
        .route("/account/sessions/{id}/revoke", post(revoke_session))
        .route("/account/bookkeeper", post(decide_appointment))
}

async fn account_page(page: Page, State(state): State<AppState>, me: SignedIn) -> Result<Response> {
    let rows = signin::live_sessions(state.db(), me.member.member_id, state.now()).await?;
    let sessions: Vec<serde_json::Value> = rows
        .iter()
        .map(|s| {
            serde_json::json!({
                "id": s.id,
                "browser": coop_web::format::browser_name(&s.user_agent),
                "created_at": s.created,
                "last_seen_at": s.last_seen,
                "current": s.id == me.web_session_id,
            })
        })
        .collect();
    let member_number = u32::try_from(me.member.member_number)
        .ok()
        .and_then(|n| state.kit.coop.member_number.number(n).ok())
        .map(|n| n.to_string());
    let html = page.render(
        "account.html",
        &serde_json::json!({
            "member": me.member,
            "member_number": member_number,
            "sessions": sessions,
            "is_admin": me.member.has(Role::Admin),
            "appointment": crate::directory::open_appointment(state.db(), me.member.member_id).await?,
            "notice": page.session.get::<String>("sso_notice"),
        }),
    )?;
    page.session.remove("sso_notice");
    Ok(html.into_response())
}

#[derive(Debug, Deserialize)]
struct Empty {}

async fn revoke_session(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response> {
    // Only the member's own sessions: someone else's id is simply not found.
    let owned = signin::session_of(state.db(), id, me.member.member_id).await?;
    let Some(id) = owned else {
        return Err(coop_web::Error::NotFound.into());
    };
    signin::revoke(state.db(), id, state.now(), "session revoked").await?;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Debug, Deserialize)]
struct AppointmentForm {
    decision: String,
}

/// `POST /account/bookkeeper`: the member accepts or declines being appointed bookkeeper.
/// Accepting signs them out (the role needs a second factor, set up at the next sign-in).
async fn decide_appointment(
    page: Page,
    State(state): State<AppState>,
    me: SignedIn,
    CsrfForm(form): CsrfForm<AppointmentForm>,
) -> Result<Response> {
    let (decision, notice) = match form.decision.as_str() {
        "accept" => (
            crate::directory::Decision::Accept,
            "account-appointment-accepted",
        ),
        "decline" => (
            crate::directory::Decision::Decline,
            "account-appointment-declined",
        ),
        _ => {
            return Err(coop_web::Error::BadRequest("decision is accept or decline".into()).into())
        }
    };
    match crate::directory::decide_appointment(
        state.db(),
        &state.kit.coop.member_number,
        me.member.member_id,
        me.member.member_id,
        decision,
        state.now(),
    )
    .await
    {
        Ok(()) => {
            page.session.insert("sso_notice", &notice);
            Ok(Redirect::to("/account").into_response())
        }
        Err(crate::directory::ChangeError::NotFound) => Err(coop_web::Error::NotFound.into()),
        Err(crate::directory::ChangeError::Database(e)) => Err(e.into()),
        Err(other) => Err(anyhow::anyhow!(other).into()),
    }
}
