//! Stock on hand and its value at cost, per product, at one location or all: a page with a
//! chart of the most valuable stock (server-rendered SVG with a text alternative and the table
//! beside it) and the whole list as CSV.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::Page;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::{AppState, Error};
use crate::stock;

#[derive(Debug, Default, Deserialize)]
pub struct LocationQuery {
    #[serde(default)]
    location: String,
}

/// The location asked for by its code (`None`: every location); an unknown code is a 404.
async fn location(
    state: &AppState,
    q: &LocationQuery,
) -> Result<(Option<stock::Location>, Vec<stock::Location>), Error> {
    let all = stock::locations(&state.kit.db).await?;
    let code = q.location.trim();
    if code.is_empty() {
        return Ok((None, all));
    }
    let Some(l) = all.iter().find(|l| l.code == code).cloned() else {
        return Err(coop_web::Error::NotFound.into());
    };
    Ok((Some(l), all))
}

/// `GET /reports/stock?location`: on hand and valuation at cost.
pub async fn valuation(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<LocationQuery>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let (at, locations) = location(&state, &q).await?;
    let rows = stock::valuation(&state.kit.db, at.as_ref().map(|l| l.location_id)).await?;
    let total: Decimal = rows.iter().map(|r| r.value).sum();
    let chart = crate::chart::bar_chart(
        &rows
            .iter()
            .take(10)
            .map(|r| (r.name.clone(), r.value))
            .collect::<Vec<_>>(),
    );
    let shown: Vec<_> = rows.iter().take(200).collect();
    Ok(page
        .render(
            "valuation.html",
            &json!({
                "rows": shown,
                "count": rows.len(),
                "total": total,
                "chart": chart,
                "top": rows.iter().take(10).collect::<Vec<_>>(),
                "locations": locations,
                "location": at,
            }),
        )?
        .into_response())
}

/// `GET /reports/stock.csv?location`: every product with stock, `;`-separated, `.` decimals.
pub async fn valuation_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<LocationQuery>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let (at, _) = location(&state, &q).await?;
    let rows = stock::valuation(&state.kit.db, at.as_ref().map(|l| l.location_id)).await?;
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    let io = |e: csv::Error| coop_web::Error::Internal(anyhow::anyhow!(e));
    w.write_record(["sku", "name", "unit", "on_hand", "unit_cost", "value"])
        .map_err(io)?;
    for r in &rows {
        w.write_record([
            r.sku.as_str(),
            r.name.as_str(),
            r.unit.as_str(),
            &r.on_hand.normalize().to_string(),
            &format!("{:.2}", r.cost),
            &format!("{:.2}", r.value),
        ])
        .map_err(io)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| coop_web::Error::Internal(anyhow::anyhow!(e.to_string())))?;
    let name = at.map_or_else(|| "all".to_owned(), |l| l.code);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"stock-{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}
