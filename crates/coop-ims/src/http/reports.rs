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

/// A CSV download (`;`-separated, `.` decimals).
fn csv_response(name: &str, header: &[&str], rows: Vec<Vec<String>>) -> Result<Response, Error> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    let io = |e: csv::Error| coop_web::Error::Internal(anyhow::anyhow!(e));
    w.write_record(header).map_err(io)?;
    for r in rows {
        w.write_record(&r).map_err(io)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| coop_web::Error::Internal(anyhow::anyhow!(e.to_string())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

fn opt(d: Option<Decimal>) -> String {
    d.map(|d| d.normalize().to_string()).unwrap_or_default()
}

/// `GET /reports/velocity`: how fast each product sells, the slow movers and the stock-outs.
pub async fn velocity(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let rows = crate::reports::velocity(&state.kit.db, state.today()).await?;
    let shown: Vec<_> = rows
        .iter()
        .take(200)
        .map(|v| json!({ "v": v, "per_7": v.per_day(7), "per_28": v.per_day(28), "per_90": v.per_day(90), "cover": v.days_of_cover() }))
        .collect();
    let top: Vec<(String, Decimal)> = rows
        .iter()
        .filter(|v| v.sold_28 > Decimal::ZERO)
        .take(10)
        .map(|v| (v.name.clone(), v.per_day(28)))
        .collect();
    let chart = crate::chart::bar_chart(&top);
    let slow: Vec<_> = crate::reports::slow_movers(&rows)
        .into_iter()
        .take(50)
        .collect();
    let outs = crate::reports::stock_outs(&rows);
    Ok(page
        .render(
            "velocity.html",
            &json!({ "rows": shown, "count": rows.len(), "chart": chart, "top": top,
                     "slow": slow, "outs": outs }),
        )?
        .into_response())
}

/// `GET /reports/velocity.csv`: every product's pace and cover.
pub async fn velocity_csv(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let rows = crate::reports::velocity(&state.kit.db, state.today()).await?;
    csv_response(
        "velocity.csv",
        &[
            "sku",
            "name",
            "unit",
            "per_day_7",
            "per_day_28",
            "per_day_90",
            "on_hand",
            "days_of_cover",
            "last_sold",
        ],
        rows.iter()
            .map(|v| {
                vec![
                    v.sku.clone(),
                    v.name.clone(),
                    v.unit.as_str().to_owned(),
                    v.per_day(7).normalize().to_string(),
                    v.per_day(28).normalize().to_string(),
                    v.per_day(90).normalize().to_string(),
                    v.on_hand.normalize().to_string(),
                    opt(v.days_of_cover()),
                    v.last_sold.map(|d| d.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
    )
}

/// `GET /reports/reorder`: what to order from each supplier, and what to bring to the shop.
pub async fn reorder(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let rows = crate::reports::velocity(&state.kit.db, state.today()).await?;
    let orders = crate::reports::reorder(&rows);
    let moves = crate::reports::replenishment(&state.kit.db, state.today()).await?;
    Ok(page
        .render(
            "reorder.html",
            &json!({ "orders": orders, "moves": moves,
                     "review_days": crate::reports::REVIEW_DAYS, "safety_days": crate::reports::SAFETY_DAYS }),
        )?
        .into_response())
}

/// `GET /reports/reorder.csv`: the suggestions, a line per product with its supplier.
pub async fn reorder_csv(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let rows = crate::reports::velocity(&state.kit.db, state.today()).await?;
    let mut out = Vec::new();
    for o in crate::reports::reorder(&rows) {
        for l in &o.lines {
            out.push(vec![
                o.supplier.clone().unwrap_or_default(),
                l.sku.clone(),
                l.name.clone(),
                l.cases.normalize().to_string(),
                l.quantity.normalize().to_string(),
                format!("{:.2}", l.value),
            ]);
        }
    }
    csv_response(
        "reorder.csv",
        &[
            "supplier",
            "sku",
            "name",
            "cases",
            "quantity",
            "value_at_cost",
        ],
        out,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn period(
    state: &AppState,
    q: &PeriodQuery,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), Error> {
    let today = state.today();
    let parse = |s: &str, default| match s.trim() {
        "" => Ok(default),
        s => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| coop_web::Error::BadRequest("dates are year-month-day".into())),
    };
    let from = parse(&q.from, today - chrono::Duration::days(27))?;
    let to = parse(&q.to, today)?;
    if from > to {
        return Err(coop_web::Error::BadRequest("from is before to".into()).into());
    }
    Ok((from, to))
}

/// `GET /reports/shrink?from&to`: what was lost, per product and reason, with a chart per reason.
pub async fn shrink(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let (from, to) = period(&state, &q)?;
    let rows = crate::reports::shrink(&state.kit.db, from, to).await?;
    let mut by_reason: Vec<(String, Decimal)> = Vec::new();
    for r in &rows {
        match by_reason.iter_mut().find(|(k, _)| *k == r.reason) {
            Some((_, v)) => *v += r.value,
            None => by_reason.push((r.reason.clone(), r.value)),
        }
    }
    by_reason.sort_by_key(|r| std::cmp::Reverse(r.1));
    let labelled: Vec<(String, Decimal)> = by_reason
        .iter()
        .map(|(k, v)| (page.t(&format!("ims-reason-{k}")), *v))
        .collect();
    let total: Decimal = rows.iter().map(|r| r.value).sum();
    Ok(page
        .render(
            "shrink.html",
            &json!({ "rows": rows, "from": from, "to": to, "total": total,
                     "chart": crate::chart::bar_chart(&labelled), "by_reason": labelled }),
        )?
        .into_response())
}

/// `GET /reports/shrink.csv?from&to`.
pub async fn shrink_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let (from, to) = period(&state, &q)?;
    let rows = crate::reports::shrink(&state.kit.db, from, to).await?;
    csv_response(
        &format!("shrink-{from}-{to}.csv"),
        &[
            "sku",
            "name",
            "reason",
            "quantity",
            "value_at_cost",
            "rate_percent",
        ],
        rows.iter()
            .map(|r| {
                vec![
                    r.sku.clone(),
                    r.name.clone(),
                    r.reason.clone(),
                    r.quantity.normalize().to_string(),
                    format!("{:.2}", r.value),
                    r.rate.normalize().to_string(),
                ]
            })
            .collect(),
    )
}
