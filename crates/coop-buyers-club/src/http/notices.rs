//! `GET`/`POST /notifications`: what a member wants to hear about orders, and where.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
use serde::Deserialize;
use serde_json::json;

use super::{form_page, member, AppState, Error, FormError};
use crate::notify::{self, Kind, CHANNELS};

/// Remembers how to reach the member (their sign-in's address and user name, the page's
/// language): every order page does, so a member who signed in is reachable.
pub async fn remember(state: &AppState, page: &Page, user: &CurrentUser) -> Result<(), Error> {
    let me = member(user)?;
    notify::remember_contact(
        &state.kit.db,
        me,
        user.email.as_deref(),
        user.preferred_username.as_deref(),
        page.lang(),
    )
    .await?;
    Ok(())
}

async fn render(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    saved: bool,
    errors: &[FormError],
) -> Result<Response, Error> {
    let me = member(user)?;
    let chosen = notify::choices(&state.kit.db, me).await?;
    let matrix = state.kit.coop.matrix.as_ref().and_then(|m| {
        user.preferred_username
            .as_deref()
            .map(|u| format!("@{u}:{}", m.server_name))
    });
    let kinds: Vec<serde_json::Value> = Kind::ALL
        .iter()
        .map(|k| {
            let on: BTreeMap<&str, bool> = CHANNELS
                .iter()
                .map(|c| (*c, chosen.contains(&format!("{}:{c}", k.as_str()))))
                .collect();
            json!({ "kind": k.as_str(), "on": on })
        })
        .collect();
    let html = page.render(
        "notifications.html",
        &json!({
            "kinds": kinds, "email": user.email, "matrix": matrix,
            "mail_configured": state.kit.coop.mail.is_some(),
            "matrix_configured": state.settings.matrix_room.is_some(),
            "saved": saved, "errors": errors,
        }),
    )?;
    Ok(form_page(errors, html))
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /notifications`.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Result<Response, Error> {
    remember(&state, &page, &user).await?;
    render(&state, &page, &user, q.saved.is_some(), &[]).await
}

/// `POST /notifications`: `<kind>:<channel>=on` for each choice.
pub async fn save(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let chosen: Vec<String> = form
        .into_iter()
        .filter(|(k, v)| k != "csrf_token" && v == "on")
        .map(|(k, _)| k)
        .collect();
    match notify::set_choices(&state.kit.db, me, &chosen, page.lang()).await {
        Ok(()) => {
            remember(&state, &page, &user).await?;
            Ok(Redirect::to(&state.url("/notifications?saved=1")).into_response())
        }
        Err(crate::store::Refused::Invalid(m)) => {
            render(&state, &page, &user, false, &[FormError::new(None, m)]).await
        }
        Err(e) => Err(e.into()),
    }
}
