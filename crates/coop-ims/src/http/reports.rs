//! Stock on hand and its value at cost, per product, at one location or all: a page with a
//! chart of the most valuable stock (server-rendered SVG with a text alternative and the table
//! beside it) and the whole list as CSV.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
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
    let body = crate::export::valuation(&rows);
    let name = at.map_or_else(|| "all".to_owned(), |l| l.code);
    Ok(csv_response(&format!("stock-{name}.csv"), body))
}

/// A CSV download (`;`-separated, `.` decimals).
fn csv_response(name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
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
    Ok(csv_response("velocity.csv", crate::export::velocity(&rows)))
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
    let orders = crate::reports::reorder(&rows);
    Ok(csv_response("reorder.csv", crate::export::reorder(&orders)))
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
    Ok(csv_response(
        &format!("shrink-{from}-{to}.csv"),
        crate::export::shrink(&rows),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    location: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `POST /reports/{report}/export`: prepares the report's CSV as a background job (the same
/// location or period as the page) and sends the manager to the job's page.
pub async fn export(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(report): Path<String>,
    CsrfForm(form): CsrfForm<ExportForm>,
) -> Result<Response, Error> {
    use crate::export::{Report, ReportCsv, REPORT_CSV};
    user.require(Role::Manager)?;
    let report = Report::parse(&report).ok_or(coop_web::Error::NotFound)?;
    let mut job = ReportCsv {
        report,
        location: None,
        from: None,
        to: None,
        today: state.today(),
    };
    match report {
        Report::Stock => {
            let q = LocationQuery {
                location: form.location,
            };
            job.location = location(&state, &q).await?.0.map(|l| l.code);
        }
        Report::Shrink => {
            let (from, to) = period(
                &state,
                &PeriodQuery {
                    from: form.from,
                    to: form.to,
                },
            )?;
            job.from = Some(from);
            job.to = Some(to);
        }
        Report::Velocity | Report::Reorder => {}
    }
    let title = format!(
        "{} ({})",
        page.t(&format!("ims-export-title-{}", report.as_str())),
        crate::export::filename(&job)
    );
    let id = state
        .jobs
        .submit(
            REPORT_CSV,
            serde_json::to_value(&job).map_err(|e| coop_web::Error::Internal(e.into()))?,
            &user,
            Role::Manager,
            &title,
        )
        .await
        .map_err(coop_web::Error::from)?;
    Ok(Redirect::to(&state.kit.service.url(&format!("/jobs/{id}"))).into_response())
}
