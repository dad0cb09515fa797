//! Till PINs. A cashier or manager, signed in through coop-sso, sets their own PIN (4 to 8
//! digits, argon2id-hashed off the async threads); tills fetch the hashes and unlock offline.
//! A manager can take anyone's PIN away. A member who loses the cashier role loses the PIN.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use coop_domain::Role;
use coop_web::auth::{Bearer, CurrentUser};
use coop_web::{CsrfForm, Page};
use serde::Deserialize;
use serde_json::json;

use super::{AppState, Error};

fn may_sell(user: &CurrentUser) -> bool {
    user.has(Role::Cashier) || user.has(Role::Manager)
}

async fn render(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    error: Option<&str>,
    done: bool,
) -> Result<Response, Error> {
    let has_pin = sqlx::query_scalar!(
        r#"select exists (select 1 from cashier where sub = $1) as "x!""#,
        user.sub
    )
    .fetch_one(&state.kit.db)
    .await?;
    let cashiers = if user.has(Role::Manager) {
        sqlx::query!("select sub, name, manager, updated_at from cashier order by name")
            .fetch_all(&state.kit.db)
            .await?
            .into_iter()
            .map(|r| json!({ "sub": r.sub, "name": r.name, "manager": r.manager, "updated_at": r.updated_at }))
            .collect()
    } else {
        Vec::new()
    };
    let html = page.render(
        "pin.html",
        &json!({ "has_pin": has_pin, "error": error, "done": done, "cashiers": cashiers }),
    )?;
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((status, html).into_response())
}

/// `GET /pin`: the form to set one's till PIN (and, for a manager, who has one).
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    if !may_sell(&user) {
        return Err(coop_web::Error::Forbidden.into());
    }
    render(&state, &page, &user, None, false).await
}

#[derive(Debug, Default, Deserialize)]
pub struct PinForm {
    #[serde(default)]
    pin: String,
    #[serde(default)]
    again: String,
}

/// `POST /pin`: sets the signed-in cashier's PIN.
pub async fn set(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<PinForm>,
) -> Result<Response, Error> {
    if !may_sell(&user) {
        return Err(coop_web::Error::Forbidden.into());
    }
    if !coop_pos_till::pin::is_pin(&form.pin) {
        let m = page.t("pos-pin-invalid");
        return render(&state, &page, &user, Some(&m), false).await;
    }
    if form.pin != form.again {
        let m = page.t("pos-pin-mismatch");
        return render(&state, &page, &user, Some(&m), false).await;
    }
    let hash = coop_pos_till::pin::hash(form.pin).await;
    sqlx::query!(
        "insert into cashier (sub, name, pin_hash, manager) values ($1, $2, $3, $4)
         on conflict (sub) do update set name = excluded.name, pin_hash = excluded.pin_hash,
             manager = excluded.manager, updated_at = now()",
        user.sub,
        user.name,
        hash,
        user.has(Role::Manager)
    )
    .execute(&state.kit.db)
    .await?;
    tracing::info!(cashier = %user.sub, "a till PIN was set");
    render(&state, &page, &user, None, true).await
}

/// `POST /cashiers/{sub}/remove`: a manager takes a PIN away; the tills drop it at their next
/// round.
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(sub): Path<String>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let n = sqlx::query!("delete from cashier where sub = $1", sub)
        .execute(&state.kit.db)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(coop_web::Error::NotFound.into());
    }
    tracing::info!(cashier = %sub, by = %user.sub, "a till PIN was removed");
    Ok(Redirect::to(&state.kit.service.url("/pin")).into_response())
}

/// `GET /api/till/cashiers`: who may unlock the tills, with their PIN hashes; a paired till's.
pub async fn for_tills(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<Response, Error> {
    if super::api::till_of(&claims).is_none() {
        return Ok((
            axum::http::StatusCode::FORBIDDEN,
            Json(
                json!({ "error": "forbidden", "message": "only a paired till reads the cashiers" }),
            ),
        )
            .into_response());
    }
    let rows = sqlx::query!("select sub, name, pin_hash, manager from cashier order by name")
        .fetch_all(&state.kit.db)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| json!({ "sub": r.sub, "name": r.name, "pin_hash": r.pin_hash, "manager": r.manager }))
            .collect::<Vec<_>>(),
    )
    .into_response())
}
