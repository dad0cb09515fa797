//! The bookkeeper's pages: top-up claims to confirm or reject, the bank-statement import and the
//! lines it could not place, and the books with their SIE export. Every handler checks the
//! `bookkeeper` role first.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, CsrfMultipart, Page};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::member::url;
use super::{member_id, top_up_message, AppState, Error, FormError};
use crate::bank::{self, BankError};
use crate::sie::{self, Company, Kind};
use crate::topup::{self, Confirmed};
use crate::wallet;

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// A form whose only field is the CSRF token (or one the handler reads).
#[derive(Debug, Default, Deserialize)]
pub struct Plain {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    claim: String,
}

/// The `done` notice keys a redirect may carry: nothing else is shown.
fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "confirmed" => Some("finance-done-confirmed"),
        "first" => Some("finance-done-first"),
        "rejected" => Some("finance-done-rejected"),
        "set-aside" => Some("finance-done-set-aside"),
        "credited" => Some("finance-done-credited"),
        _ => None,
    }
}

async fn render_top_ups(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    errors: &[FormError],
    done: Option<&str>,
) -> Result<Html<String>, Error> {
    let claims = topup::open(&state.kit.db).await?;
    let ids: Vec<Uuid> = claims.iter().map(|c| c.wallet_id).collect();
    let wallets = wallet::by_ids(&state.kit.db, &ids).await?;
    let me = member_id(user)?;
    let rows: Vec<_> = claims
        .iter()
        .map(|c| {
            let w = wallets.iter().find(|w| w.wallet_id == c.wallet_id);
            json!({
                "claim": c,
                "owner": w.map(|w| w.owner_name.clone()).unwrap_or_default(),
                "reference": w.and_then(|w| w.payment_reference.clone()),
                "own": c.claimed_by == Some(me),
                "first_was_me": c.first_by == Some(me),
                "needs_two": state.settings.second_bookkeeper_above.is_some_and(|t| c.amount > t),
            })
        })
        .collect();
    Ok(page.render(
        "top_ups.html",
        &json!({
            "rows": rows,
            "errors": errors,
            "notice": notice(done),
            "threshold": state.settings.second_bookkeeper_above,
        }),
    )?)
}

/// `GET /top-ups`: the claims waiting for a bookkeeper.
pub async fn top_ups(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(d): Query<Done>,
) -> Result<Html<String>, Error> {
    user.require(Role::Bookkeeper)?;
    render_top_ups(&state, &page, &user, &[], d.done.as_deref()).await
}

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

/// How many wallets the list shows at once.
const WALLETS_SHOWN: i64 = 100;

/// `GET /wallets?q=`: every wallet, overdrawn ones first, found by name, member number or
/// payment reference, each with its statement.
pub async fn wallets(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(s): Query<Search>,
) -> Result<Html<String>, Error> {
    use chrono::Datelike as _;
    user.require(Role::Bookkeeper)?;
    let q: String = s.q.trim().chars().take(100).collect();
    let mut rows = wallet::list(&state.kit.db, &q, WALLETS_SHOWN + 1).await?;
    let more = rows.len() > usize::try_from(WALLETS_SHOWN).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(WALLETS_SHOWN).unwrap_or(usize::MAX));
    let (overdrawn, owed) = wallet::overdrawn(&state.kit.db).await?;
    let today = state.today();
    Ok(page.render(
        "wallets.html",
        &json!({
            "rows": rows,
            "q": q,
            "more": more,
            "overdrawn": overdrawn,
            "owed": owed,
            "from": today.with_day(1).unwrap_or(today),
            "to": today,
        }),
    )?)
}

/// A refused bookkeeper action: the page again with the reason, nothing changed.
async fn refused_top_up(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    e: topup::TopUpError,
) -> Result<Response, Error> {
    let Some((key, field)) = top_up_message(&e) else {
        return Err(e.into());
    };
    let errors = [FormError {
        field,
        message: page.t(key),
    }];
    let html = render_top_ups(state, page, user, &errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

fn to(state: &AppState, path: &str) -> Response {
    Redirect::to(&url(state, path)).into_response()
}

/// `POST /top-ups/{id}/confirm`.
pub async fn confirm(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<Plain>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let me = member_id(&user)?;
    match topup::confirm(&state.kit.db, id, me, &state.policy()).await {
        Ok(Confirmed::Credited { .. }) => Ok(to(&state, "/top-ups?done=confirmed")),
        Ok(Confirmed::AwaitingSecond) => Ok(to(&state, "/top-ups?done=first")),
        Err(e) => refused_top_up(&state, &page, &user, e).await,
    }
}

/// `POST /top-ups/{id}/reject`.
pub async fn reject(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<Plain>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let me = member_id(&user)?;
    match topup::reject(&state.kit.db, id, me, &form.reason).await {
        Ok(_) => Ok(to(&state, "/top-ups?done=rejected")),
        Err(e) => refused_top_up(&state, &page, &user, e).await,
    }
}

async fn render_bank(
    state: &AppState,
    page: &Page,
    errors: &[FormError],
    report: Option<&bank::ImportReport>,
    done: Option<&str>,
) -> Result<Html<String>, Error> {
    let lines = bank::unmatched(&state.kit.db).await?;
    let claims = topup::open(&state.kit.db).await?;
    let rows: Vec<_> = lines
        .iter()
        .map(|l| {
            let same_amount: Vec<_> = claims
                .iter()
                .filter(|c| c.amount == l.amount && c.bank_line_id.is_none())
                .collect();
            json!({ "line": l, "claims": same_amount })
        })
        .collect();
    Ok(page.render(
        "bank.html",
        &json!({
            "rows": rows,
            "errors": errors,
            "report": report,
            "notice": notice(done),
        }),
    )?)
}

/// `GET /bank`: the import form and the lines waiting to be matched.
pub async fn bank(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(d): Query<Done>,
) -> Result<Html<String>, Error> {
    user.require(Role::Bookkeeper)?;
    render_bank(&state, &page, &[], None, d.done.as_deref()).await
}

fn bank_error(page: &Page, e: &BankError) -> Option<FormError> {
    let (key, field) = match e {
        BankError::Line { .. } | BankError::NotCamt(_) | BankError::Empty => {
            return Some(FormError {
                field: Some("statement"),
                message: format!("{} {e}", page.t("finance-error-statement")),
            })
        }
        BankError::NoLine => ("finance-error-no-line", None),
        BankError::AmountDiffers => ("finance-error-amount-differs", None),
        BankError::Note => ("finance-error-note", Some("note")),
        BankError::TopUp(t) => top_up_message(t)?,
        BankError::Database(_) => return None,
    };
    Some(FormError {
        field,
        message: page.t(key),
    })
}

async fn refused_bank(state: &AppState, page: &Page, e: BankError) -> Result<Response, Error> {
    let Some(err) = bank_error(page, &e) else {
        return Err(e.into());
    };
    let html = render_bank(state, page, &[err], None, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

/// `POST /bank/import`: a CSV or camt.053 file; refused whole if any line is malformed.
pub async fn import(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    form: CsrfMultipart,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let me = member_id(&user)?;
    let Some(file) = form.file("statement") else {
        let err = FormError {
            field: Some("statement"),
            message: page.t("finance-error-no-file"),
        };
        let html = render_bank(&state, &page, &[err], None, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    };
    let currency = state.kit.coop.currency.code();
    let looks_xml = file.bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
        || file.bytes.starts_with(b"\xef\xbb\xbf<");
    let parsed = if looks_xml {
        bank::parse_camt053(&file.bytes)
    } else {
        bank::parse_csv(&file.bytes, currency)
    };
    let statement = match parsed {
        Ok(s) => s,
        Err(e) => return refused_bank(&state, &page, e).await,
    };
    match bank::import(
        &state.kit.db,
        &statement,
        file.file_name.as_deref(),
        me,
        currency,
        &state.policy(),
    )
    .await
    {
        Ok(report) => Ok(render_bank(&state, &page, &[], Some(&report), None)
            .await?
            .into_response()),
        Err(e) => refused_bank(&state, &page, e).await,
    }
}

/// `POST /bank/lines/{id}/set-aside`: not a top-up, with a note.
pub async fn set_aside(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<Plain>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    match bank::set_aside(&state.kit.db, id, member_id(&user)?, &form.note).await {
        Ok(()) => Ok(to(&state, "/bank?done=set-aside")),
        Err(e) => refused_bank(&state, &page, e).await,
    }
}

/// `POST /bank/lines/{id}/credit`: to the wallet whose payment reference the bookkeeper gives.
pub async fn credit(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<Plain>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let Some(w) = wallet::find_by_reference(&state.kit.db, &form.reference).await? else {
        let err = FormError {
            field: None,
            message: page.t("finance-error-no-wallet"),
        };
        let html = render_bank(&state, &page, &[err], None, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    };
    match bank::credit_to_wallet(&state.kit.db, id, w, member_id(&user)?, &state.policy()).await {
        Ok(Confirmed::Credited { .. }) => Ok(to(&state, "/bank?done=credited")),
        Ok(Confirmed::AwaitingSecond) => Ok(to(&state, "/bank?done=first")),
        Err(e) => refused_bank(&state, &page, e).await,
    }
}

/// `POST /bank/lines/{id}/match`: to an open claim of the same amount.
pub async fn match_claim(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<Plain>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let Ok(claim) = Uuid::parse_str(form.claim.trim()) else {
        return refused_bank(&state, &page, BankError::TopUp(topup::TopUpError::NoClaim)).await;
    };
    match bank::match_to_claim(&state.kit.db, id, claim, member_id(&user)?, &state.policy()).await {
        Ok(Confirmed::Credited { .. }) => Ok(to(&state, "/bank?done=credited")),
        Ok(Confirmed::AwaitingSecond) => Ok(to(&state, "/bank?done=first")),
        Err(e) => refused_bank(&state, &page, e).await,
    }
}

/// `GET /books`: the fiscal years and their exports.
pub async fn books(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Html<String>, Error> {
    user.require(Role::Bookkeeper)?;
    let years = crate::ledger::store::years(&state.kit.db).await?;
    Ok(page.render("books.html", &json!({ "years": years }))?)
}

#[derive(Debug, Deserialize)]
pub struct SieQuery {
    #[serde(default)]
    kind: Option<String>,
}

/// `GET /books/{year}/sie?kind=4E|4I`: the year as a SIE 4 file.
pub async fn sie_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<i32>,
    Query(q): Query<SieQuery>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let kind = match q.kind.as_deref() {
        None | Some("4E") => Kind::E,
        Some("4I") => Kind::I,
        Some(_) => {
            return Err(coop_web::Error::BadRequest("kind is 4E or 4I".into()).into());
        }
    };
    let org = &state.kit.coop.organisation;
    let company = Company {
        name: org.name.clone(),
        orgnr: org.org_number.clone(),
        currency: state.kit.coop.currency.code().to_owned(),
        program_version: env!("CARGO_PKG_VERSION").to_owned(),
        generated_on: state.today(),
    };
    let (bytes, _) = sie::export(&state.kit.db, year, kind, &company, Vec::new()).await?;
    let name = format!(
        "{}-{year}-{}.se",
        state.kit.coop.domain.replace('.', "-"),
        if kind == Kind::E { "4E" } else { "4I" }
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=IBM437".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct Period {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// The period asked for, or this calendar year up to today; errors name the field.
fn period(
    state: &AppState,
    page: &Page,
    q: &Period,
) -> (chrono::NaiveDate, chrono::NaiveDate, Vec<FormError>) {
    use chrono::Datelike as _;
    let today = state.today();
    let mut errors = Vec::new();
    let mut parse = |v: &Option<String>, field: &'static str, default: chrono::NaiveDate| match v
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => default,
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|_| {
            errors.push(FormError {
                field: Some(field),
                message: page.t("finance-error-date"),
            });
            default
        }),
    };
    let start = chrono::NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let from = parse(&q.from, "from", start);
    let to = parse(&q.to, "to", today);
    if from > to {
        errors.push(FormError {
            field: Some("to"),
            message: page.t("finance-error-period"),
        });
        return (start, today, errors);
    }
    (from, to, errors)
}

/// `GET /reports`: income statement, balance sheet, VAT, the months as a chart, members' money.
pub async fn reports(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<Period>,
) -> Result<Response, Error> {
    use crate::reports;
    user.require(Role::Bookkeeper)?;
    let (from, to, errors) = period(&state, &page, &q);
    let db = &state.kit.db;
    let income = reports::income_statement(db, from, to).await?;
    let balance = reports::balance_sheet(db, to).await?;
    let vat = reports::vat_report(db, from, to).await?;
    let months = reports::months(db, from, to).await?;
    let members = reports::member_money(db, from, to).await?;
    // Bars for the chart, in percent of the tallest.
    let top = months
        .iter()
        .flat_map(|m| [m.revenue, m.expenses])
        .max()
        .unwrap_or_default()
        .max(rust_decimal::Decimal::ONE);
    // Chart geometry (not money): a bar's height in percent of the tallest, 100 units high.
    let pct = |v: rust_decimal::Decimal| {
        use rust_decimal::prelude::ToPrimitive as _;
        let p = (v.max(rust_decimal::Decimal::ZERO) * rust_decimal::Decimal::from(100) / top)
            .round_dp(1);
        p.to_f64().unwrap_or(0.0)
    };
    let bars: Vec<_> = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (rev, exp) = (pct(m.revenue), pct(m.expenses));
            json!({
                "month": m.month, "revenue": m.revenue, "expenses": m.expenses,
                "rev_x": i * 40 + 4, "exp_x": i * 40 + 20,
                "rev_h": rev, "exp_h": exp, "rev_y": 100.0 - rev, "exp_y": 100.0 - exp,
            })
        })
        .collect();
    let html = page.render(
        "reports.html",
        &json!({
            "from": from, "to": to, "errors": errors, "income": income, "balance": balance,
            "vat": vat, "bars": bars, "chart_width": months.len().max(1) * 40,
            "members": members,
        }),
    )?;
    Ok(super::form_page(&errors, html))
}

/// The period of a CSV download: both dates valid and in order, or a bad request.
fn strict_period(
    state: &AppState,
    page: &Page,
    q: &Period,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), Error> {
    let (from, to, errors) = period(state, page, q);
    if errors.is_empty() {
        Ok((from, to))
    } else {
        Err(coop_web::Error::BadRequest("from and to are dates, from before to".into()).into())
    }
}

/// A CSV file to save.
fn csv_download(file_name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /reports/income.csv`: the income statement of the period as CSV.
pub async fn income_csv(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<Period>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let (from, to) = strict_period(&state, &page, &q)?;
    let s = crate::reports::income_statement(&state.kit.db, from, to).await?;
    Ok(csv_download(
        &format!("income-{from}-{to}.csv"),
        crate::reports::income_statement_csv(&s),
    ))
}

/// `GET /reports/members.csv`: the period's batch per member (money in, purchases per VAT rate).
pub async fn members_csv(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<Period>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let (from, to) = strict_period(&state, &page, &q)?;
    let rows = crate::reports::member_batch(&state.kit.db, from, to).await?;
    Ok(csv_download(
        &format!("members-{from}-{to}.csv"),
        crate::reports::member_batch_csv(&rows),
    ))
}

async fn render_periods(
    state: &AppState,
    page: &Page,
    year: i32,
    errors: &[FormError],
    done: Option<&str>,
) -> Result<Response, Error> {
    let years = crate::ledger::store::years(&state.kit.db).await?;
    let Some(y) = years.into_iter().find(|y| y.fiscal_year_id == year) else {
        return Err(coop_web::Error::NotFound.into());
    };
    let periods = crate::ledger::store::periods(&state.kit.db, year).await?;
    let today = state.today();
    let first_open = periods.iter().position(|p| p.closed_at.is_none());
    let last = periods.len().saturating_sub(1);
    let rows: Vec<_> = periods
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({ "period": p, "can_close": Some(i) == first_open && p.ends_on < today,
                    "closes_year": i == last })
        })
        .collect();
    let notice = match done {
        Some("closed") => Some("finance-done-closed"),
        Some("year-closed") => Some("finance-done-year-closed"),
        _ => None,
    };
    let html = page.render(
        "periods.html",
        &json!({ "year": y, "rows": rows, "errors": errors, "notice": notice }),
    )?;
    Ok(super::form_page(errors, html))
}

/// `GET /books/{year}/periods`: the year's months, and closing the next one.
pub async fn periods(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(year): Path<i32>,
    Query(d): Query<Done>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    render_periods(&state, &page, year, &[], d.done.as_deref()).await
}

/// `POST /books/{year}/periods/{starts_on}/close`: no more entries into that month, for good.
pub async fn close_period(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path((year, starts_on)): Path<(i32, chrono::NaiveDate)>,
    CsrfForm(_): CsrfForm<Plain>,
) -> Result<Response, Error> {
    use crate::ledger::store::CloseRefusal;
    user.require(Role::Bookkeeper)?;
    let outcome = crate::ledger::store::close_month(
        &state.kit.db,
        year,
        starts_on,
        state.today(),
        member_id(&user)?,
    )
    .await
    .map_err(|e| Error::Wallet(crate::wallet::WalletError::Ledger(e)))?;
    let key = match outcome {
        Ok(()) => {
            let closed_year = crate::ledger::store::years(&state.kit.db)
                .await?
                .iter()
                .any(|y| y.fiscal_year_id == year && y.closed_at.is_some());
            let done = if closed_year { "year-closed" } else { "closed" };
            return Ok(to(&state, &format!("/books/{year}/periods?done={done}")));
        }
        Err(CloseRefusal::NotOver) => "finance-error-not-over",
        Err(CloseRefusal::EarlierOpen) => "finance-error-earlier-open",
        Err(CloseRefusal::NotOpen) => "finance-error-not-open",
    };
    let errors = [FormError {
        field: None,
        message: page.t(key),
    }];
    render_periods(&state, &page, year, &errors, None).await
}

/// A wallet's statement for the asked period as a PDF download, in the reader's language.
pub async fn statement_pdf(
    state: &AppState,
    page: &Page,
    wallet: Uuid,
    q: &Period,
) -> Result<Response, Error> {
    let (from, to) = strict_period(state, page, q)?;
    let Some(s) =
        crate::statement::for_wallet(&state.kit.db, wallet, from, to, state.kit.coop.time_zone)
            .await?
    else {
        return Err(coop_web::Error::NotFound.into());
    };
    let coop = &state.kit.coop;
    let t = |key: &str| page.t(key);
    let labels = crate::statement::pdf::Labels {
        t: &t,
        format: coop_web::format::Format::new(page.lang(), coop.time_zone),
        currency: coop.currency,
        org_name: &coop.organisation.name,
        org_number: coop.organisation.org_number.as_deref(),
    };
    let body = crate::statement::pdf::render(&s, &labels);
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"statement-{from}-{to}.pdf\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// `GET /wallets/{id}/statement?from&to`: any member's statement, for a bookkeeper.
pub async fn statement(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(q): Query<Period>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    statement_pdf(&state, &page, id, &q).await
}
