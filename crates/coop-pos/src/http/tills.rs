//! The managers' view of the tills: each till's last upload, the sales it still holds and since
//! when, where its chain stands, and a chain problem until a manager has looked at it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
use serde::Serialize;
use serde_json::json;

use super::{AppState, Error};

#[derive(Debug, Clone, Serialize)]
pub struct TillRow {
    pub till_id: String,
    pub name: Option<String>,
    pub last_seq: i64,
    pub last_seen_at: DateTime<Utc>,
    pub pending: i32,
    pub pending_since: Option<DateTime<Utc>>,
    pub flagged_seq: Option<i64>,
    pub flagged_problem: Option<String>,
    pub flagged_at: Option<DateTime<Utc>>,
}

/// `GET /`: every till's sync state.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let tills = sqlx::query_as!(
        TillRow,
        "select till_id, name, last_seq, last_seen_at, pending, pending_since, flagged_seq,
                flagged_problem, flagged_at
         from till order by coalesce(name, till_id)"
    )
    .fetch_all(&state.kit.db)
    .await?;
    Ok(page
        .render("tills.html", &json!({ "tills": tills }))?
        .into_response())
}

/// `POST /tills/{id}/clear`: a manager has looked at the chain problem (and the till has sent
/// what was missing, or the records are accounted for); the flag goes, the chain stays.
pub async fn clear(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let n = sqlx::query!(
        "update till set flagged_seq = null, flagged_problem = null, flagged_at = null
         where till_id = $1",
        id
    )
    .execute(&state.kit.db)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(coop_web::Error::NotFound.into());
    }
    tracing::info!(till = %id, "a till's chain problem was cleared by a manager");
    Ok(Redirect::to(&state.kit.service.url("/")).into_response())
}
