//! Stock audits: managers start a full or cycle count and approve it; cashiers and managers
//! count on the sheet (one form, a field per product, in shelf order: a phone will do), and the
//! variance report shows what the count found before anything posts.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{form_page, member_id, AppState, Error, FormError};
use crate::audit::{self, AuditError, Scope};
use crate::stock;

/// Counting is for the shop floor: a cashier or a manager.
fn require_counter(user: &CurrentUser) -> Result<(), Error> {
    if user.has(Role::Cashier) || user.has(Role::Manager) {
        Ok(())
    } else {
        Err(coop_web::Error::Forbidden.into())
    }
}

fn message(e: &AuditError) -> Option<FormError> {
    match e {
        AuditError::Database(_) | AuditError::Stock(stock::StockError::Database(_)) => None,
        AuditError::NotInAudit(_) | AuditError::Count(_) => Some(FormError {
            field: None,
            message: e.to_string(),
        }),
        other => Some(FormError {
            field: None,
            message: other.to_string(),
        }),
    }
}

async fn render_list(
    state: &AppState,
    page: &Page,
    errors: &[FormError],
) -> Result<Response, Error> {
    let audits = audit::list(&state.kit.db).await?;
    let locations = stock::locations(&state.kit.db).await?;
    let html = page.render(
        "audits.html",
        &json!({ "audits": audits, "locations": locations, "errors": errors }),
    )?;
    Ok(form_page(errors, html))
}

/// `GET /audits`.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    render_list(&state, &page, &[]).await
}

#[derive(Debug, Default, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    location: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    sample: String,
}

/// `POST /audits`: a full count, or a cycle count of `sample` products.
pub async fn start(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<StartForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let bad = |m: &str| FormError {
        field: None,
        message: m.into(),
    };
    let Ok(location) = Uuid::parse_str(form.location.trim()) else {
        return render_list(&state, &page, &[bad("choose a location")]).await;
    };
    let scope = match form.kind.as_str() {
        "full" => Scope::Full,
        "cycle" => match form.sample.trim().parse() {
            Ok(n) => Scope::Cycle(n),
            Err(_) => {
                return render_list(&state, &page, &[bad("a sample of 1 to 500 products")]).await
            }
        },
        _ => return render_list(&state, &page, &[bad("a full count or a cycle count")]).await,
    };
    match audit::start(&state.kit.db, location, scope, member_id(&user)).await {
        Ok(id) => {
            Ok(Redirect::to(&state.kit.service.url(&format!("/audits/{id}"))).into_response())
        }
        Err(e) => match message(&e) {
            Some(f) => render_list(&state, &page, &[f]).await,
            None => Err(AuditError::into_error(e)),
        },
    }
}

impl AuditError {
    fn into_error(self) -> Error {
        match self {
            AuditError::Database(e) => Error::Database(e),
            AuditError::Stock(e) => Error::Stock(e),
            AuditError::NoAudit => coop_web::Error::NotFound.into(),
            other => coop_web::Error::BadRequest(other.to_string()).into(),
        }
    }
}

async fn render_sheet(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    id: Uuid,
    errors: &[FormError],
) -> Result<Response, Error> {
    let Some(a) = audit::get(&state.kit.db, id).await? else {
        return Err(coop_web::Error::NotFound.into());
    };
    let lines = audit::lines(&state.kit.db, id).await?;
    let rows: Vec<_> = lines
        .iter()
        .map(|l| {
            let variance = l.variance();
            json!({
                "line": l,
                "variance": variance,
                "value": variance.map(|v| (v * l.cost).round_dp(2)),
                "differs": variance.is_some_and(|v| !v.is_zero()),
            })
        })
        .collect();
    let total: Decimal = lines
        .iter()
        .filter_map(|l| l.variance().map(|v| (v * l.cost).round_dp(2)))
        .sum();
    let differing = lines
        .iter()
        .filter(|l| l.variance().is_some_and(|v| !v.is_zero()))
        .count();
    let html = page.render(
        "audit.html",
        &json!({
            "audit": a, "rows": rows, "errors": errors, "total": total, "differing": differing,
            "is_manager": user.has(Role::Manager),
        }),
    )?;
    Ok(form_page(errors, html))
}

/// `GET /audits/{id}`: the count sheet while counting, the variance report after.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, Error> {
    require_counter(&user)?;
    render_sheet(&state, &page, &user, id, &[]).await
}

/// `POST /audits/{id}/counts`: `c-<product id>` = the quantity counted; empty fields are left.
pub async fn counts(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, Error> {
    require_counter(&user)?;
    let mut counts = Vec::new();
    for (k, v) in &form {
        let Some(product) = k.strip_prefix("c-") else {
            continue;
        };
        if v.trim().is_empty() {
            continue;
        }
        let Ok(product) = Uuid::parse_str(product) else {
            let f = FormError {
                field: None,
                message: format!("{k} is not on this count sheet"),
            };
            return render_sheet(&state, &page, &user, id, &[f]).await;
        };
        let Ok(q) = v.trim().replace(',', ".").parse::<Decimal>() else {
            let f = FormError {
                field: None,
                message: format!("“{v}” is not a number"),
            };
            return render_sheet(&state, &page, &user, id, &[f]).await;
        };
        counts.push((product, q));
    }
    match audit::count(&state.kit.db, id, &counts, member_id(&user)).await {
        Ok(_) => Ok(Redirect::to(&state.kit.service.url(&format!("/audits/{id}"))).into_response()),
        Err(e) => match message(&e) {
            Some(f) if !matches!(e, AuditError::NoAudit) => {
                render_sheet(&state, &page, &user, id, &[f]).await
            }
            _ => Err(e.into_error()),
        },
    }
}

async fn step(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    id: Uuid,
    r: Result<(), AuditError>,
) -> Result<Response, Error> {
    match r {
        Ok(()) => {
            Ok(Redirect::to(&state.kit.service.url(&format!("/audits/{id}"))).into_response())
        }
        Err(e) => match message(&e) {
            Some(f) if !matches!(e, AuditError::NoAudit) => {
                render_sheet(state, page, user, id, &[f]).await
            }
            _ => Err(e.into_error()),
        },
    }
}

/// `POST /audits/{id}/submit`: counting is done.
pub async fn submit(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, Error> {
    require_counter(&user)?;
    let r = audit::submit(&state.kit.db, id).await;
    step(&state, &page, &user, id, r).await
}

/// `POST /audits/{id}/approve`: the differences post.
pub async fn approve(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let r = audit::approve(&state.kit.db, id, member_id(&user), state.today())
        .await
        .map(|_| ());
    step(&state, &page, &user, id, r).await
}

/// `POST /audits/{id}/cancel`: nothing posts.
pub async fn cancel(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let r = audit::cancel(&state.kit.db, id, member_id(&user)).await;
    step(&state, &page, &user, id, r).await
}
