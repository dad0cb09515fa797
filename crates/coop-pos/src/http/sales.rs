//! The sales at central: every till's journal, searched by day, till and receipt number; a
//! receipt as the till printed it; each till's day (sales, returns, VAT per rate, tenders,
//! cash rounding), which is what the Z reports of that day's shifts add up to; and for a member,
//! their own purchases, each receipt readable and sent to them by mail on request.
//!
//! Managers and bookkeepers see every sale. A member sees only their own: another member's
//! receipt is "not found", never "forbidden", so that ids reveal nothing.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use coop_domain::Role;
use coop_pos_till::journal::SaleRecord;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{AppState, Error};

/// Who sees every sale.
const BOOKS: [Role; 2] = [Role::Manager, Role::Bookkeeper];

/// How many rows a page of sales shows.
const PAGE: i64 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    day: String,
    #[serde(default)]
    till: String,
    /// A receipt number as printed: `<till>-<number>`.
    #[serde(default)]
    receipt: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Row {
    pub sale_id: Uuid,
    pub till_id: String,
    pub seq: i64,
    pub kind: String,
    pub completed_at: DateTime<Utc>,
    pub total: Decimal,
    pub member: Option<String>,
    pub tenders: String,
}

fn today(state: &AppState) -> NaiveDate {
    Utc::now()
        .with_timezone(&state.kit.coop.time_zone)
        .date_naive()
}

/// The day asked for: `YYYY-MM-DD`, or today when empty. Anything else is a clear 400.
fn day_of(state: &AppState, day: &str) -> Result<NaiveDate, Error> {
    let day = day.trim();
    if day.is_empty() {
        return Ok(today(state));
    }
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| coop_web::Error::BadRequest("the day is YYYY-MM-DD".into()).into())
}

/// `GET /sales?day&till&receipt`: the sales of a day (by default today), of one till or all,
/// or the one receipt asked for; with the day's count and total per kind.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<Search>,
) -> Result<Response, Error> {
    user.require_any(&BOOKS)?;
    let day = day_of(&state, &q.day)?;
    let till = q.till.trim();
    let receipt = q.receipt.trim();
    // `kassa-1-17`: the till is everything before the last dash.
    let wanted = receipt
        .rsplit_once('-')
        .and_then(|(t, n)| Some((t.to_owned(), n.parse::<i64>().ok()?)));
    if !receipt.is_empty() && wanted.is_none() {
        return Err(coop_web::Error::BadRequest(
            "a receipt number is the till and its number, like kassa-1-17".into(),
        )
        .into());
    }
    let rows = if let Some((t, n)) = &wanted {
        sqlx::query_as!(
            Row,
            r#"select s.sale_id, s.till_id, s.seq, s.kind, s.completed_at, s.total, s.member,
                      coalesce((select string_agg(t.tender, ', ' order by t.tender_no)
                                from sale_tender t where t.sale_id = s.sale_id), '') as "tenders!"
               from sale s where s.till_id = $1 and s.seq = $2"#,
            t,
            n
        )
        .fetch_all(&state.kit.db)
        .await?
    } else {
        sqlx::query_as!(
            Row,
            r#"select s.sale_id, s.till_id, s.seq, s.kind, s.completed_at, s.total, s.member,
                      coalesce((select string_agg(t.tender, ', ' order by t.tender_no)
                                from sale_tender t where t.sale_id = s.sale_id), '') as "tenders!"
               from sale s
               where s.business_day = $1 and ($2 = '' or s.till_id = $2)
               order by s.completed_at desc, s.till_id, s.seq desc
               limit $3"#,
            day,
            till,
            PAGE + 1
        )
        .fetch_all(&state.kit.db)
        .await?
    };
    let more = rows.len() > usize::try_from(PAGE).unwrap_or(usize::MAX);
    let rows: Vec<Row> = rows
        .into_iter()
        .take(usize::try_from(PAGE).unwrap_or(usize::MAX))
        .collect();
    let summary = sqlx::query!(
        r#"select kind, count(*) as "n!", coalesce(sum(total), 0) as "total!"
           from sale where business_day = $1 and ($2 = '' or till_id = $2)
           group by kind order by kind"#,
        day,
        till
    )
    .fetch_all(&state.kit.db)
    .await?
    .into_iter()
    .map(|r| json!({ "kind": r.kind, "count": r.n, "total": r.total }))
    .collect::<Vec<_>>();
    let tills: Vec<String> = sqlx::query_scalar!("select till_id from till order by till_id")
        .fetch_all(&state.kit.db)
        .await?;
    Ok(page
        .render(
            "sales.html",
            &json!({
                "rows": rows, "more": more, "summary": summary, "tills": tills,
                "day": day, "till": till, "receipt": receipt,
            }),
        )?
        .into_response())
}

/// The sale `id` if `user` may read it: any sale for a manager or a bookkeeper, their own for a
/// member; anything else is not found.
async fn readable(state: &AppState, user: &CurrentUser, id: Uuid) -> Result<SaleRecord, Error> {
    let row = sqlx::query!("select record, member from sale where sale_id = $1", id)
        .fetch_optional(&state.kit.db)
        .await?
        .ok_or(coop_web::Error::NotFound)?;
    let all = BOOKS.iter().any(|r| user.has(*r));
    if !all && row.member.as_deref() != Some(user.sub.as_str()) {
        return Err(coop_web::Error::NotFound.into());
    }
    serde_json::from_value(row.record).map_err(|e| {
        coop_web::Error::Internal(anyhow::anyhow!("a stored record does not read: {e}")).into()
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct Sent {
    #[serde(default)]
    sent: Option<String>,
}

/// `GET /sales/{id}`: a receipt as the till printed it.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(s): Query<Sent>,
) -> Result<Response, Error> {
    user.require_any(&[Role::Member, Role::Manager, Role::Bookkeeper])?;
    let sale = readable(&state, &user, id).await?;
    let coop = &state.kit.coop;
    let own = sale.member.as_deref() == Some(user.sub.as_str());
    Ok(page
        .render(
            "receipt.html",
            &json!({
                "sale": sale,
                "receipt_number": format!("{}-{}", sale.till, sale.seq),
                "org_name": coop.organisation.name,
                "org_number": coop.organisation.org_number,
                "own": own,
                "can_mail": own && user.email.is_some() && state.mailer.is_configured(),
                "sent": s.sent.as_deref() == Some("1"),
                "send_failed": s.sent.as_deref() == Some("failed"),
            }),
        )?
        .into_response())
}

/// `POST /sales/{id}/email`: the member's own receipt, mailed to the address coop-sso has for
/// them, in the language they read the page in.
pub async fn email(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, Error> {
    user.require(Role::Member)?;
    let sale = readable(&state, &user, id).await?;
    // Only the member's own: a manager reads any receipt but mails none to themselves.
    if sale.member.as_deref() != Some(user.sub.as_str()) {
        return Err(coop_web::Error::NotFound.into());
    }
    let to = user
        .email
        .as_deref()
        .and_then(|e| coop_domain::EmailAddress::parse(e).ok())
        .ok_or_else(|| {
            coop_web::Error::BadRequest("coop-sso has no email address for you".into())
        })?;
    let number = format!("{}-{}", sale.till, sale.seq);
    let text = receipt_text(&state, &page, &sale, &number);
    let subject = format!(
        "{} {number} – {}",
        page.t("pos-receipt"),
        state.kit.coop.organisation.name
    );
    let mail = coop_web::mail::OutgoingMail::text(to, &user.name, &subject, text);
    match state.mailer.send(mail).await {
        Ok(coop_web::mail::Delivery::Sent) => {
            tracing::info!(sale = %id, "a receipt was mailed to its member");
            Ok(
                Redirect::to(&state.kit.service.url(&format!("/sales/{id}?sent=1")))
                    .into_response(),
            )
        }
        Ok(coop_web::mail::Delivery::NotConfigured) => {
            tracing::warn!(sale = %id, "a receipt was asked for, but the co-op sends no mail");
            Ok(
                Redirect::to(&state.kit.service.url(&format!("/sales/{id}?sent=failed")))
                    .into_response(),
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, sale = %id, "a receipt could not be mailed");
            Ok(
                Redirect::to(&state.kit.service.url(&format!("/sales/{id}?sent=failed")))
                    .into_response(),
            )
        }
    }
}

/// The receipt as plain text, for a mail.
fn receipt_text(state: &AppState, page: &Page, sale: &SaleRecord, number: &str) -> String {
    use std::fmt::Write as _;
    let coop = &state.kit.coop;
    let f = coop_web::format::Format::new(page.lang(), coop.time_zone);
    let m = |d: Decimal| f.money(coop_domain::Money::new(d, coop.currency));
    let mut t = String::new();
    let _ = writeln!(t, "{}", coop.organisation.name);
    if let Some(n) = &coop.organisation.org_number {
        let _ = writeln!(t, "{} {n}", page.t("pos-org-number"));
    }
    let _ = writeln!(
        t,
        "{} {number} · {}\n",
        page.t("pos-receipt"),
        f.date(sale.completed_at)
    );
    for l in &sale.lines {
        let _ = writeln!(
            t,
            "{}\n  {} × {} = {}",
            l.name,
            l.quantity.normalize(),
            m(l.unit_price),
            m(l.amount)
        );
    }
    let _ = writeln!(t, "\n{} {}", page.t("pos-total"), m(sale.total));
    for r in &sale.by_rate {
        let _ = writeln!(
            t,
            "{} {} %: {} ({} {})",
            page.t("pos-vat"),
            r.vat_percent.normalize(),
            m(r.vat),
            page.t("pos-net"),
            m(r.net)
        );
    }
    for tn in &sale.tenders {
        let _ = writeln!(t, "{}: {}", tn.tender, m(tn.amount));
    }
    if !sale.change.is_zero() {
        let _ = writeln!(t, "{} {}", page.t("pos-change"), m(sale.change));
    }
    t
}

/// `GET /mine`: the signed-in member's own purchases at the tills, newest first.
pub async fn mine(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    user.require(Role::Member)?;
    let rows = sqlx::query_as!(
        Row,
        r#"select s.sale_id, s.till_id, s.seq, s.kind, s.completed_at, s.total, s.member,
                  coalesce((select string_agg(t.tender, ', ' order by t.tender_no)
                            from sale_tender t where t.sale_id = s.sale_id), '') as "tenders!"
           from sale s where s.member = $1 and s.kind <> 'training'
           order by s.completed_at desc limit 100"#,
        user.sub
    )
    .fetch_all(&state.kit.db)
    .await?;
    Ok(page
        .render("mine.html", &json!({ "rows": rows }))?
        .into_response())
}

#[derive(Debug, Default, Serialize)]
struct TillDay {
    sales: i64,
    returns: i64,
    training: i64,
    /// Sales and returns together (training is never money).
    total: Decimal,
    returned: Decimal,
    rounding: Decimal,
    /// VAT rate → (net, VAT, gross).
    by_rate: BTreeMap<String, (Decimal, Decimal, Decimal)>,
    /// Tender → amount.
    by_tender: BTreeMap<String, Decimal>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DayQuery {
    #[serde(default)]
    day: String,
}

/// `GET /days?day`: each till's day, as the Z reports of its shifts add up: sales and returns,
/// VAT per rate, each tender, cash rounding; and the day for all tills.
pub async fn day(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<DayQuery>,
) -> Result<Response, Error> {
    user.require_any(&BOOKS)?;
    let day = day_of(&state, &q.day)?;
    let rows = sqlx::query!(
        r#"select till_id, record from sale where business_day = $1 order by till_id, seq"#,
        day
    )
    .fetch_all(&state.kit.db)
    .await?;
    let mut tills: BTreeMap<String, TillDay> = BTreeMap::new();
    let mut all = TillDay::default();
    for r in rows {
        let Ok(s) = serde_json::from_value::<SaleRecord>(r.record) else {
            continue;
        };
        for d in [tills.entry(r.till_id.clone()).or_default(), &mut all] {
            match s.kind {
                coop_pos_till::journal::SaleKind::Training => {
                    d.training += 1;
                    continue;
                }
                coop_pos_till::journal::SaleKind::Return => {
                    d.returns += 1;
                    d.returned += s.total;
                }
                coop_pos_till::journal::SaleKind::Sale => d.sales += 1,
            }
            d.total += s.total;
            d.rounding += s.rounding;
            for x in &s.by_rate {
                let e = d
                    .by_rate
                    .entry(x.vat_percent.normalize().to_string())
                    .or_default();
                e.0 += x.net;
                e.1 += x.vat;
                e.2 += x.gross;
            }
            for t in &s.tenders {
                *d.by_tender.entry(t.tender.clone()).or_default() += t.amount;
            }
        }
    }
    Ok(page
        .render(
            "days.html",
            &json!({ "day": day, "tills": tills, "all": all }),
        )?
        .into_response())
}
