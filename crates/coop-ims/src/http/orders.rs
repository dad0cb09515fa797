//! Purchase orders for managers: made from a supplier's reorder suggestions, edited as a draft,
//! sent (CSV for the supplier), and received against with short and damaged deliveries.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::i18n::FluentValue;
use coop_web::mail::{Attachment, Delivery, OutgoingMail};
use coop_web::{CsrfForm, Lang, Page};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{form_page, member_id, AppState, Error, FormError};
use crate::purchase::{self, OrderError};
use crate::stock;

fn into_error(e: OrderError) -> Error {
    match e {
        OrderError::Database(e) => Error::Database(e),
        OrderError::Stock(e) => Error::Stock(e),
        OrderError::NoOrder => coop_web::Error::NotFound.into(),
        other => coop_web::Error::BadRequest(other.to_string()).into(),
    }
}

/// `GET /orders`.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let orders = purchase::list(&state.kit.db).await?;
    Ok(page
        .render("orders.html", &json!({ "orders": orders }))?
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct NewOrder {
    #[serde(default)]
    supplier: String,
}

/// `POST /orders`: a draft from the supplier's suggestions, delivered to the first shop.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<NewOrder>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let supplier = Uuid::parse_str(form.supplier.trim())
        .map_err(|_| coop_web::Error::BadRequest("choose a supplier".into()))?;
    let shop = stock::locations(&state.kit.db)
        .await?
        .into_iter()
        .find(|l| l.kind == "shop")
        .ok_or_else(|| coop_web::Error::BadRequest("no shop location".into()))?;
    let id = purchase::from_suggestions(
        &state.kit.db,
        supplier,
        shop.location_id,
        state.today(),
        member_id(&user),
    )
    .await
    .map_err(into_error)?;
    Ok(Redirect::to(&state.kit.service.url(&format!("/orders/{id}"))).into_response())
}

async fn render(
    state: &AppState,
    page: &Page,
    id: Uuid,
    errors: &[FormError],
    mailed: Option<&str>,
) -> Result<Response, Error> {
    let Some((order, lines)) = purchase::get(&state.kit.db, id).await? else {
        return Err(coop_web::Error::NotFound.into());
    };
    let rows: Vec<_> = lines
        .iter()
        .map(|l| json!({ "line": l, "value": l.value(), "short": l.short() }))
        .collect();
    let total: Decimal = lines.iter().map(purchase::Line::value).sum();
    // What became of mailing the order, after a send or a mail.
    let (notice, alert) = match mailed {
        Some("sent") => (Some("ims-order-mail-done"), None),
        Some("failed") => (None, Some("ims-order-mail-failed")),
        Some("unconfigured") => (None, Some("ims-order-mail-unconfigured")),
        _ => (None, None),
    };
    let html = page.render(
        "order.html",
        &json!({
            "order": order, "rows": rows, "total": total, "errors": errors,
            "notice": notice, "alert": alert,
            "can_mail": order.supplier_email.is_some() && state.mailer.is_configured(),
        }),
    )?;
    Ok(form_page(errors, html))
}

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    mailed: Option<String>,
}

/// `GET /orders/{id}`.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    render(&state, &page, id, &[], q.mailed.as_deref()).await
}

fn parse_fields(
    form: &BTreeMap<String, String>,
    prefix: &str,
) -> Result<BTreeMap<Uuid, Decimal>, String> {
    let mut out = BTreeMap::new();
    for (k, v) in form {
        let Some(p) = k.strip_prefix(prefix) else {
            continue;
        };
        let p = Uuid::parse_str(p).map_err(|_| format!("{k} is not on this order"))?;
        let v = v.trim();
        let q = if v.is_empty() {
            Decimal::ZERO
        } else {
            v.replace(',', ".")
                .parse()
                .map_err(|_| format!("“{v}” is not a number"))?
        };
        out.insert(p, q);
    }
    Ok(out)
}

async fn outcome(
    state: &AppState,
    page: &Page,
    id: Uuid,
    r: Result<(), OrderError>,
) -> Result<Response, Error> {
    match r {
        Ok(()) => {
            Ok(Redirect::to(&state.kit.service.url(&format!("/orders/{id}"))).into_response())
        }
        Err(e @ (OrderError::Quantity(_) | OrderError::WrongStatus(_) | OrderError::Empty)) => {
            let f = FormError {
                field: None,
                message: e.to_string(),
            };
            render(state, page, id, &[f], None).await
        }
        Err(e) => Err(into_error(e)),
    }
}

/// `POST /orders/{id}/lines`: `q-<product>` = the quantity; 0 drops the line.
pub async fn lines(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let r = match parse_fields(&form, "q-") {
        Ok(q) => {
            let q: Vec<(Uuid, Decimal)> = q.into_iter().collect();
            purchase::set_quantities(&state.kit.db, id, &q).await
        }
        Err(m) => Err(OrderError::Quantity(m)),
    };
    outcome(&state, &page, id, r).await
}

#[derive(Debug, Default, Deserialize)]
pub struct SendForm {
    /// `on`: mail the order to the supplier as well.
    #[serde(default)]
    mail: Option<String>,
}

/// `POST /orders/{id}/send`: marks the draft as sent and, when asked, mails it to the supplier.
pub async fn send(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<SendForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let r = purchase::send(&state.kit.db, id).await;
    if r.is_ok() && form.mail.as_deref() == Some("on") {
        let mailed = mail_to_supplier(&state, &user, id).await?;
        return Ok(to_order(&state, id, mailed));
    }
    outcome(&state, &page, id, r).await
}

/// `POST /orders/{id}/mail`: mails a sent order to the supplier (again).
pub async fn mail(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let Some((order, _)) = purchase::get(&state.kit.db, id).await? else {
        return Err(coop_web::Error::NotFound.into());
    };
    if order.status != "sent" {
        return outcome(
            &state,
            &page,
            id,
            Err(OrderError::WrongStatus(order.status)),
        )
        .await;
    }
    let mailed = mail_to_supplier(&state, &user, id).await?;
    Ok(to_order(&state, id, mailed))
}

fn to_order(state: &AppState, id: Uuid, mailed: &str) -> Response {
    Redirect::to(
        &state
            .kit
            .service
            .url(&format!("/orders/{id}?mailed={mailed}")),
    )
    .into_response()
}

/// Mails the order to the supplier in the co-op's own language, with the PDF and the CSV
/// attached and replies going to the manager who sent it. Answers what became of it: `sent`,
/// `failed` (the order stays sent; the page offers to try again) or `unconfigured` (no mail
/// server, or no address for the supplier).
async fn mail_to_supplier(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<&'static str, Error> {
    let Some((order, lines)) = purchase::get(&state.kit.db, id).await? else {
        return Err(coop_web::Error::NotFound.into());
    };
    let Some(to) = order
        .supplier_email
        .as_deref()
        .and_then(|e| coop_domain::EmailAddress::parse(e).ok())
    else {
        return Ok("unconfigured");
    };
    let coop = &state.kit.coop;
    let lang = coop.default_lang;
    let tr = state.kit.templates.translations();
    let number = order.number.to_string();
    let args = [
        ("number", FluentValue::from(number.as_str())),
        ("org", FluentValue::from(coop.organisation.name.as_str())),
        ("location", FluentValue::from(order.location.as_str())),
    ];
    let mut text = [
        "ims-order-mail-greeting",
        "ims-order-mail-body",
        "ims-order-mail-deliver",
    ]
    .map(|k| tr.format(lang, k, &args))
    .join("\n\n");
    let reply_to = user
        .email
        .as_deref()
        .and_then(|e| coop_domain::EmailAddress::parse(e).ok());
    if let Some(r) = &reply_to {
        let r = r.to_string();
        text.push_str("\n\n");
        text.push_str(&tr.format(
            lang,
            "ims-order-mail-reply",
            &[("who", FluentValue::from(r.as_str()))],
        ));
    }
    text.push_str("\n\n");
    text.push_str(&coop.organisation.name);
    text.push('\n');
    let csv =
        purchase::csv(&order, &lines).map_err(|e| coop_web::Error::Internal(anyhow::anyhow!(e)))?;
    let pdf = order_pdf(state, lang, &order, &lines);
    let mut msg = OutgoingMail::text(
        to,
        &order.supplier,
        &tr.format(lang, "ims-order-mail-subject", &args),
        text,
    );
    msg.reply_to = reply_to;
    msg.attachments = vec![
        Attachment {
            filename: format!("order-{}.pdf", order.number),
            content_type: "application/pdf".into(),
            body: pdf,
        },
        Attachment {
            filename: format!("order-{}.csv", order.number),
            content_type: "text/csv; charset=utf-8".into(),
            body: csv,
        },
    ];
    match state.mailer.send(msg).await {
        Ok(Delivery::Sent) => {
            let address = order.supplier_email.as_deref().unwrap_or_default();
            purchase::mark_mailed(&state.kit.db, id, address)
                .await
                .map_err(into_error)?;
            tracing::info!(
                order = order.number,
                "purchase order mailed to the supplier"
            );
            Ok("sent")
        }
        Ok(Delivery::NotConfigured) => Ok("unconfigured"),
        Err(e) => {
            tracing::warn!(order = order.number, error = %e, "purchase order not mailed");
            Ok("failed")
        }
    }
}

/// The order's PDF in `lang`.
fn order_pdf(
    state: &AppState,
    lang: Lang,
    order: &purchase::Order,
    lines: &[purchase::Line],
) -> Vec<u8> {
    let coop = &state.kit.coop;
    let tr = state.kit.templates.translations();
    let t = |key: &str| tr.text(lang, key);
    purchase::pdf(
        order,
        lines,
        &purchase::PdfLabels {
            t: &t,
            format: coop_web::format::Format::new(lang, coop.time_zone),
            currency: coop.currency,
            org_name: &coop.organisation.name,
            org_number: coop.organisation.org_number.as_deref(),
        },
    )
}

/// `POST /orders/{id}/receive`: `r-<product>` good units, `d-<product>` damaged ones.
pub async fn receive(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let r = match (parse_fields(&form, "r-"), parse_fields(&form, "d-")) {
        (Ok(good), Ok(damaged)) => {
            let mut all: Vec<(Uuid, Decimal, Decimal)> = good
                .iter()
                .map(|(p, g)| (*p, *g, damaged.get(p).copied().unwrap_or_default()))
                .collect();
            for (p, d) in &damaged {
                if !good.contains_key(p) {
                    all.push((*p, Decimal::ZERO, *d));
                }
            }
            purchase::receive(&state.kit.db, id, &all, state.today(), member_id(&user)).await
        }
        (Err(m), _) | (_, Err(m)) => Err(OrderError::Quantity(m)),
    };
    outcome(&state, &page, id, r).await
}

/// `GET /orders/{id}/csv`: the order for the supplier.
pub async fn csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let Some((order, lines)) = purchase::get(&state.kit.db, id).await? else {
        return Err(coop_web::Error::NotFound.into());
    };
    let body =
        purchase::csv(&order, &lines).map_err(|e| coop_web::Error::Internal(anyhow::anyhow!(e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"order-{}.csv\"", order.number),
            ),
        ],
        body,
    )
        .into_response())
}

/// `GET /orders/{id}/pdf`: the order for the supplier, in the reader's language.
pub async fn pdf(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let Some((order, lines)) = purchase::get(&state.kit.db, id).await? else {
        return Err(coop_web::Error::NotFound.into());
    };
    let body = order_pdf(&state, page.lang(), &order, &lines);
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"order-{}.pdf\"", order.number),
            ),
        ],
        body,
    )
        .into_response())
}
