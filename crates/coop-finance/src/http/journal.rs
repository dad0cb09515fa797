//! The journal for bookkeepers: every entry, one entry with its lines and evidence, manual
//! entries (an expense, a supplier invoice) with an attachment, and reversing a mistake.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, CsrfMultipart, Page};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::member::url;
use super::{member_id, AppState, Error, FormError};
use crate::entries;
use crate::ledger::store::{self, StoreError};
use crate::ledger::{AccountNumber, Entry, LedgerError, Line, Series};

fn push(errors: &mut Vec<FormError>, page: &Page, field: Option<&'static str>, key: &str) {
    errors.push(FormError {
        field,
        message: page.t(key),
    });
}

/// Rows on the manual entry form.
pub const FORM_LINES: usize = 6;

/// The largest manual-entry form (an attachment and the fields).
pub const ENTRY_FORM_LIMIT: usize = entries::MAX_ATTACHMENT + 64 * 1024;

#[derive(Debug, Default, Deserialize)]
pub struct Before {
    #[serde(default)]
    before: Option<i64>,
}

/// `GET /entries`: the journal, newest first, 50 at a time.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<Before>,
) -> Result<Html<String>, Error> {
    user.require(Role::Bookkeeper)?;
    let rows = entries::journal(&state.kit.db, q.before, 51).await?;
    let more = rows.len() > 50;
    let rows: Vec<_> = rows.into_iter().take(50).collect();
    let next = if more {
        rows.last().map(|r| r.journal_entry_id)
    } else {
        None
    };
    Ok(page.render("journal.html", &json!({ "rows": rows, "next": next }))?)
}

#[derive(Debug, Clone, Default, Serialize)]
struct DraftLine {
    account: String,
    debit: String,
    credit: String,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Draft {
    entry_date: String,
    text: String,
    lines: Vec<DraftLine>,
}

async fn render_form(
    state: &AppState,
    page: &Page,
    draft: &Draft,
    errors: &[FormError],
) -> Result<Html<String>, Error> {
    let accounts = entries::accounts(&state.kit.db).await?;
    let field_errors: serde_json::Map<String, serde_json::Value> = errors
        .iter()
        .filter_map(|e| e.field.map(|f| (f.to_owned(), json!(e.message))))
        .collect();
    Ok(page.render(
        "entry_new.html",
        &json!({ "draft": draft, "accounts": accounts, "errors": errors,
                 "field_errors": field_errors }),
    )?)
}

/// `GET /entries/new`.
pub async fn new(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Html<String>, Error> {
    user.require(Role::Bookkeeper)?;
    let draft = Draft {
        entry_date: state.today().to_string(),
        text: String::new(),
        lines: vec![DraftLine::default(); FORM_LINES],
    };
    render_form(&state, &page, &draft, &[]).await
}

fn amount(s: &str) -> Result<Option<Decimal>, ()> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if t.is_empty() {
        return Ok(None);
    }
    let d: Decimal = t.replace(',', ".").parse().map_err(|_| ())?;
    if d <= Decimal::ZERO || d.normalize().scale() > 2 {
        return Err(());
    }
    Ok(Some(d))
}

/// The field names of line `i`, static for the error summary's links.
const LINE_FIELDS: [[&str; 3]; FORM_LINES] = [
    ["account-1", "debit-1", "credit-1"],
    ["account-2", "debit-2", "credit-2"],
    ["account-3", "debit-3", "credit-3"],
    ["account-4", "debit-4", "credit-4"],
    ["account-5", "debit-5", "credit-5"],
    ["account-6", "debit-6", "credit-6"],
];

/// `POST /entries`: a manual entry, with an optional attachment, in series A.
pub async fn create(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    form: CsrfMultipart,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let me = member_id(&user)?;
    let text_of = |name: &str| form.text(name).unwrap_or_default();
    let draft = Draft {
        entry_date: text_of("entry_date"),
        text: text_of("text"),
        lines: (1..=FORM_LINES)
            .map(|i| DraftLine {
                account: text_of(&format!("account-{i}")),
                debit: text_of(&format!("debit-{i}")),
                credit: text_of(&format!("credit-{i}")),
            })
            .collect(),
    };
    let mut errors = Vec::new();
    let date = NaiveDate::parse_from_str(draft.entry_date.trim(), "%Y-%m-%d").ok();
    if date.is_none() {
        push(&mut errors, &page, Some("entry_date"), "finance-error-date");
    }
    let mut lines = Vec::new();
    for (i, l) in draft.lines.iter().enumerate() {
        let [f_account, f_debit, f_credit] = LINE_FIELDS[i];
        if l.account.trim().is_empty() && l.debit.trim().is_empty() && l.credit.trim().is_empty() {
            continue;
        }
        let account = AccountNumber::parse(&l.account);
        if account.is_err() {
            push(&mut errors, &page, Some(f_account), "finance-error-account");
        }
        match (amount(&l.debit), amount(&l.credit)) {
            (Ok(Some(d)), Ok(None)) => {
                if let Ok(a) = account {
                    lines.push(Line {
                        account: a,
                        amount: d,
                    });
                }
            }
            (Ok(None), Ok(Some(c))) => {
                if let Ok(a) = account {
                    lines.push(Line {
                        account: a,
                        amount: -c,
                    });
                }
            }
            (Err(()), _) => push(
                &mut errors,
                &page,
                Some(f_debit),
                "finance-error-line-amount",
            ),
            (_, Err(())) => push(
                &mut errors,
                &page,
                Some(f_credit),
                "finance-error-line-amount",
            ),
            _ => push(
                &mut errors,
                &page,
                Some(f_debit),
                "finance-error-debit-or-credit",
            ),
        }
    }
    let file = form.file("attachment");
    if let Some(f) = file {
        if f.bytes.len() > entries::MAX_ATTACHMENT || entries::sniff(&f.bytes).is_none() {
            push(
                &mut errors,
                &page,
                Some("attachment"),
                "finance-error-attachment",
            );
        }
    }
    let entry = match (date, errors.is_empty()) {
        (Some(date), true) => {
            match Entry::new(
                Series::parse("A").map_err(|e| coop_web::Error::Internal(e.into()))?,
                date,
                &draft.text,
                lines,
                state.minor_units(),
            ) {
                Ok(e) => Some(e),
                Err(LedgerError::Text) => {
                    push(&mut errors, &page, Some("text"), "finance-error-text");
                    None
                }
                Err(LedgerError::TooFewLines) => {
                    push(
                        &mut errors,
                        &page,
                        Some("account-1"),
                        "finance-error-too-few-lines",
                    );
                    None
                }
                Err(LedgerError::Unbalanced(diff)) => {
                    errors.push(FormError {
                        field: Some("debit-1"),
                        message: format!(
                            "{} {:.2}",
                            page.t("finance-error-unbalanced"),
                            diff.abs()
                        ),
                    });
                    None
                }
                Err(_) => {
                    push(
                        &mut errors,
                        &page,
                        Some("debit-1"),
                        "finance-error-line-amount",
                    );
                    None
                }
            }
        }
        _ => None,
    };
    if let Some(entry) = entry {
        let mut tx = state.kit.db.begin().await?;
        match store::post_in(&mut tx, &entry, Some(me), None).await {
            Ok(posted) => {
                if let Some(f) = file {
                    let kind = entries::sniff(&f.bytes).expect("checked above");
                    entries::attach(
                        &mut tx,
                        posted.journal_entry_id,
                        f.file_name.as_deref().unwrap_or("attachment"),
                        kind,
                        &f.bytes,
                        me,
                    )
                    .await?;
                }
                tx.commit().await?;
                return Ok(Redirect::to(&url(
                    &state,
                    &format!("/entries/{}?done=posted", posted.journal_entry_id),
                ))
                .into_response());
            }
            Err(StoreError::ClosedPeriod(_)) => {
                errors.push(FormError {
                    field: Some("entry_date"),
                    message: page.t("finance-error-closed-period"),
                });
            }
            Err(StoreError::NoFiscalYear(_)) => {
                errors.push(FormError {
                    field: Some("entry_date"),
                    message: page.t("finance-error-no-year"),
                });
            }
            Err(StoreError::UnknownAccount(_)) => {
                errors.push(FormError {
                    field: Some("account-1"),
                    message: page.t("finance-error-account"),
                });
            }
            Err(e) => return Err(crate::wallet::WalletError::Ledger(e).into()),
        }
    }
    let html = render_form(&state, &page, &draft, &errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

async fn render_entry(
    state: &AppState,
    page: &Page,
    id: i64,
    errors: &[FormError],
    done: Option<&str>,
) -> Result<Response, Error> {
    let Some(e) = entries::entry(&state.kit.db, id).await? else {
        return Err(coop_web::Error::NotFound.into());
    };
    let notice = match done {
        Some("posted") => Some("finance-done-posted"),
        Some("reversed") => Some("finance-done-reversed"),
        _ => None,
    };
    let html = page.render(
        "entry.html",
        &json!({ "entry": e, "errors": errors, "notice": notice, "today": state.today() }),
    )?;
    Ok(super::form_page(errors, html))
}

/// `GET /entries/{id}`.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(d): Query<Done>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    render_entry(&state, &page, id, &[], d.done.as_deref()).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ReverseForm {
    #[serde(default)]
    on: String,
}

/// `POST /entries/{id}/reverse`: posts the negation, once, on the day given.
pub async fn reverse(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ReverseForm>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let Some(on) = NaiveDate::parse_from_str(form.on.trim(), "%Y-%m-%d").ok() else {
        let e = [FormError {
            field: Some("on"),
            message: page.t("finance-error-date"),
        }];
        return render_entry(&state, &page, id, &e, None).await;
    };
    let key = match store::reverse(
        &state.kit.db,
        id,
        on,
        Some(member_id(&user)?),
        state.minor_units(),
    )
    .await
    {
        Ok(posted) => {
            return Ok(Redirect::to(&url(
                &state,
                &format!("/entries/{}?done=reversed", posted.journal_entry_id),
            ))
            .into_response())
        }
        Err(StoreError::NoSuchEntry(_)) => return Err(coop_web::Error::NotFound.into()),
        Err(StoreError::AlreadyReversed(_)) => "finance-error-reversed",
        Err(StoreError::ClosedPeriod(_)) => "finance-error-closed-period",
        Err(StoreError::NoFiscalYear(_)) => "finance-error-no-year",
        Err(e) => return Err(crate::wallet::WalletError::Ledger(e).into()),
    };
    let e = [FormError {
        field: Some("on"),
        message: page.t(key),
    }];
    render_entry(&state, &page, id, &e, None).await
}

/// `GET /entries/{id}/attachments/{attachment}`: the evidence, as it was uploaded.
pub async fn attachment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, att)): Path<(i64, i64)>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let Some((name, kind, bytes)) = entries::attachment(&state.kit.db, id, att).await? else {
        return Err(coop_web::Error::NotFound.into());
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}
