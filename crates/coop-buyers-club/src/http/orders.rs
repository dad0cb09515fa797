//! The orders: the list, starting one, the order's page (the member's purchases, the manager's
//! controls, changes after delivery and their answers), the sorting view and a member's part.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone as _, Utc};
use coop_domain::money::Money;
use coop_domain::quantity::{Quantity, Unit};
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{field_errors, form_page, member, AppState, Error, FormError, NoFields};
use crate::domain::OrderState;
use crate::members;
use crate::store::{self, Actor, Refused};

/// `GET /`: the orders, open ones first.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    let me = member(&user)?;
    super::notices::remember(&state, &page, &user).await?;
    let orders = store::orders(&state.kit.db).await?;
    let html = page.render(
        "orders.html",
        &json!({ "orders": orders, "me": me, "now": Utc::now() }),
    )?;
    Ok(html.into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    supplier: Option<Uuid>,
}

#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct OrderForm {
    #[serde(default)]
    supplier: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    ends_on: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    threshold: String,
    /// The offered products, `p-<id>=on`.
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

async fn render_new(
    state: &AppState,
    page: &Page,
    supplier: Option<Uuid>,
    form: &OrderForm,
    errors: &[FormError],
) -> Result<Response, Error> {
    let suppliers = store::suppliers(&state.kit.db).await?;
    let chosen = match supplier {
        Some(id) => Some(
            store::supplier(&state.kit.db, id)
                .await?
                .ok_or(Refused::NotFound)?,
        ),
        None => None,
    };
    let tz = state.kit.coop.time_zone;
    let products: Vec<serde_json::Value> = match &chosen {
        Some(s) => store::products(&state.kit.db, s.supplier_id)
            .await?
            .iter()
            .map(|p| {
                json!({ "product": p, "case": super::qty(page, tz, p.case_size),
                             "by_case": p.case_size != Decimal::ONE })
            })
            .collect(),
        None => Vec::new(),
    };
    let html = page.render(
        "order_new.html",
        &json!({ "suppliers": suppliers, "supplier": chosen, "products": products,
                 "form": form, "errors": errors, "field_errors": field_errors(errors) }),
    )?;
    Ok(form_page(errors, html))
}

/// `GET /orders/new[?supplier=]`: choose the supplier, then the order's products and end.
pub async fn new(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<NewQuery>,
) -> Result<Response, Error> {
    member(&user)?;
    let ends = (Utc::now() + chrono::Duration::days(7)).with_timezone(&state.kit.coop.time_zone);
    let form = OrderForm {
        ends_on: ends.date_naive().to_string(),
        ends_at: "20:00".into(),
        ..OrderForm::default()
    };
    render_new(&state, &page, q.supplier, &form, &[]).await
}

/// A local date and time, typed, as an instant.
fn local_instant(state: &AppState, on: &str, at: &str) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(on.trim(), "%Y-%m-%d").ok()?;
    let time = NaiveTime::parse_from_str(at.trim(), "%H:%M").ok()?;
    state
        .kit
        .coop
        .time_zone
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn amount(state: &AppState, typed: &str) -> Option<Decimal> {
    Money::parse(typed, state.kit.coop.currency)
        .ok()
        .map(|m| m.amount())
        .filter(|a| !a.is_sign_negative())
}

/// `POST /orders`: a new order, its creator its manager.
pub async fn create(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<OrderForm>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let supplier = Uuid::parse_str(form.supplier.trim()).map_err(|_| Refused::NotFound)?;
    let mut errors = Vec::new();
    let ends = local_instant(&state, &form.ends_on, &form.ends_at);
    if ends.is_none() {
        errors.push(FormError::new(Some("ends_on"), page.t("club-error-end")));
    }
    let threshold = if form.threshold.trim().is_empty() {
        None
    } else {
        let t = amount(&state, &form.threshold);
        if t.is_none() {
            errors.push(FormError::new(
                Some("threshold"),
                page.t("club-error-amount"),
            ));
        }
        t
    };
    let products: Vec<Uuid> = form
        .rest
        .iter()
        .filter(|(k, v)| k.starts_with("p-") && v.as_str() == "on")
        .filter_map(|(k, _)| Uuid::parse_str(&k[2..]).ok())
        .collect();
    if products.is_empty() {
        errors.push(FormError::new(
            Some("products"),
            page.t("club-error-no-products"),
        ));
    }
    if let (true, Some(ends)) = (errors.is_empty(), ends) {
        let new = store::NewOrder {
            supplier,
            title: &form.title,
            ends_at: ends,
            threshold,
            products: &products,
        };
        match store::create_order(&state.kit.db, me, &new, Utc::now()).await {
            Ok(id) => return Ok(Redirect::to(&state.url(&format!("/orders/{id}"))).into_response()),
            Err(Refused::Invalid(m)) => errors.push(FormError::new(None, m)),
            Err(e) => return Err(e.into()),
        }
    }
    render_new(&state, &page, Some(supplier), &form, &errors).await
}

/// One product of the order as its page shows it.
#[derive(Debug, serde::Serialize)]
struct Line {
    product_id: Uuid,
    name: String,
    unit: String,
    case_size: Decimal,
    unit_price: Decimal,
    cases: Decimal,
    units: Decimal,
    wanted: Decimal,
    /// Towards the next case: what is wanted and tolerated beyond the full cases.
    short: Decimal,
    mine: Option<(Decimal, Decimal, Decimal)>,
    /// The same, as the page writes them.
    text: BTreeMap<&'static str, String>,
}

async fn render_order(
    state: &AppState,
    page: &Page,
    me: Uuid,
    id: Uuid,
    errors: &[FormError],
) -> Result<Response, Error> {
    let db = &state.kit.db;
    let order = store::order(db, id).await?.ok_or(Refused::NotFound)?;
    let manager = order.manager_id == me;
    let sorting = store::sorting(db, id).await?;
    // Once the order is closed, what the member gets is the case fill's share changed by the
    // delivery changes she approved (a weighed 2,85 kg for 3 kg): her part, as she pays for it.
    // A product missing from her part is one she gets none of. While it is open there are no
    // changes, and the share is what she gets.
    let my_part = if order.state() == OrderState::Open {
        None
    } else {
        let vat = |c: &str| state.vat_percent(c);
        Some(
            store::parts_of(db, id, &sorting, state.minor_units(), &vat)
                .await?
                .into_iter()
                .find(|p| p.member == me),
        )
    };
    let delivered = |product: Uuid, share: Decimal| match &my_part {
        None => share,
        Some(part) => part
            .as_ref()
            .and_then(|p| p.lines.iter().find(|l| l.product_id == product))
            .map_or(Decimal::ZERO, |l| l.quantity),
    };
    let tz = state.kit.coop.time_zone;
    let q = |d: Decimal| super::qty(page, tz, d);
    let lines: Vec<Line> = sorting
        .iter()
        .map(|l| {
            let asked: Decimal = l.members.iter().map(|m| m.1 + m.2).sum();
            let mine = l.members.iter().find(|m| m.0 == me);
            let short = if asked > l.units && l.case_size > Decimal::ONE {
                l.case_size - (asked - l.units)
            } else {
                Decimal::ZERO
            };
            let mut text = BTreeMap::new();
            text.insert("case", q(l.case_size));
            text.insert("cases", q(l.cases));
            text.insert("units", q(l.units));
            text.insert("wanted", q(l.wanted));
            text.insert("short", q(short));
            text.insert("quantity", mine.map(|m| q(m.1)).unwrap_or_default());
            text.insert("tolerance", mine.map(|m| q(m.2)).unwrap_or_default());
            let gets = mine.map(|m| delivered(l.product_id, m.3));
            text.insert("gets", gets.map(q).unwrap_or_default());
            Line {
                text,
                product_id: l.product_id,
                name: l.name.clone(),
                unit: l.unit.clone(),
                case_size: l.case_size,
                unit_price: l.unit_price,
                cases: l.cases,
                units: l.units,
                wanted: l.wanted,
                short,
                mine: mine.map(|m| (m.1, m.2, gets.unwrap_or_default())),
            }
        })
        .collect();
    let minor = state.minor_units();
    let most: Decimal = sorting
        .iter()
        .filter_map(|l| {
            l.members
                .iter()
                .find(|m| m.0 == me)
                .map(|m| crate::domain::line_amount(m.1 + m.2, l.unit_price, minor))
        })
        .sum();
    let changes = store::changes(db, id).await?;
    let mut ids: Vec<Uuid> = changes.iter().map(|c| c.member_id).collect();
    let members_with_purchases: Vec<Uuid> = {
        let mut v: Vec<Uuid> = sorting
            .iter()
            .flat_map(|l| l.members.iter().map(|m| m.0))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    ids.push(order.manager_id);
    for l in &sorting {
        ids.extend(l.members.iter().map(|m| m.0));
    }
    let names = members::named(db, &ids).await?;
    let others = if manager && order.state() == OrderState::Open {
        let offered: Vec<Uuid> = sorting.iter().map(|l| l.product_id).collect();
        store::products(db, order.supplier_id)
            .await?
            .into_iter()
            .filter(|p| !offered.contains(&p.product_id))
            .collect()
    } else {
        Vec::new()
    };
    let changes: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| {
            json!({ "change": c, "before": q(c.quantity_before), "after": q(c.quantity_after),
                         "waiting": c.state == "requested" || c.state == "disputed" })
        })
        .collect();
    let mine_waiting: Vec<&serde_json::Value> = changes
        .iter()
        .filter(|c| c["waiting"] == json!(true) && c["change"]["member_id"] == json!(me))
        .collect();
    let active = if manager {
        members::active(db).await?
    } else {
        Vec::new()
    };
    let (total, reached) = store::threshold_reached(db, &order, minor).await?;
    let html = page.render(
        "order.html",
        &json!({
            "order": order, "state": order.state().as_str(), "manager": manager, "me": me,
            "total": total, "reached": reached,
            "lines": lines, "most": most, "changes": changes, "mine_waiting": mine_waiting,
            "names": super::name_map(&names), "others": others, "members": active,
            "buyers": members_with_purchases,
            "open": order.state() == OrderState::Open && Utc::now() < order.ends_at,
            "errors": errors, "field_errors": field_errors(errors),
        }),
    )?;
    Ok(form_page(errors, html))
}

/// `GET /orders/{id}`.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    super::notices::remember(&state, &page, &user).await?;
    render_order(&state, &page, me, id, &[]).await
}

/// A refusal as the order page shows it (with a 422), or the error it is.
async fn refused_on_order(
    state: &AppState,
    page: &Page,
    me: Uuid,
    id: Uuid,
    field: Option<&str>,
    e: Refused,
) -> Result<Response, Error> {
    let message = match &e {
        Refused::Insufficient { available: Some(a) } => format!(
            "{} {}",
            page.t("club-error-insufficient"),
            coop_web::format::Format::new(page.lang(), state.kit.coop.time_zone)
                .money(Money::new(*a, state.kit.coop.currency))
        ),
        Refused::Insufficient { available: None } => page.t("club-error-insufficient"),
        Refused::NotFound | Refused::Database(_) => return Err(e.into()),
        other => other.to_string(),
    };
    render_order(state, page, me, id, &[FormError::new(field, message)]).await
}

fn back(state: &AppState, id: Uuid) -> Response {
    Redirect::to(&state.url(&format!("/orders/{id}"))).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct PurchaseForm {
    /// For the manager: whose purchases (default: one's own).
    #[serde(default)]
    member: String,
    /// `q-<product>` and `t-<product>`.
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

/// `POST /orders/{id}/purchases`: the member's quantities and tolerances, product by product
/// (each a change of its own: one refused does not undo those before it, and the page says
/// which).
pub async fn purchases(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<PurchaseForm>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let (whose, actor) = match Uuid::parse_str(form.member.trim()) {
        // Another member's purchases: only their order's manager, only once it is closed, only
        // down (the store checks).
        Ok(m) if m != me => (m, Actor::Manager(me)),
        _ => {
            if !members::may_buy(&state.kit.db, me).await? {
                return Err(coop_web::Error::Forbidden.into());
            }
            let order = store::order(&state.kit.db, id)
                .await?
                .ok_or(Refused::NotFound)?;
            let actor = if order.manager_id == me && order.state() == OrderState::Closed {
                Actor::Manager(me)
            } else {
                Actor::Member(me)
            };
            (me, actor)
        }
    };
    let current = store::sorting(&state.kit.db, id).await?;
    for line in &current {
        let p = line.product_id;
        let q = form.rest.get(&format!("q-{p}"));
        let t = form.rest.get(&format!("t-{p}"));
        if q.is_none() && t.is_none() {
            continue;
        }
        let parse = |s: Option<&String>| -> Option<Decimal> {
            match s.map(|s| s.trim()).filter(|s| !s.is_empty()) {
                None => Some(Decimal::ZERO),
                Some(s) => quantity_typed(s, &line.unit),
            }
        };
        let (Some(quantity), Some(tolerance)) = (parse(q), parse(t)) else {
            let message = format!("{}: {}", line.name, page.t("club-error-quantity"));
            return render_order(
                &state,
                &page,
                me,
                id,
                &[FormError::new(Some(&format!("q-{p}")), message)],
            )
            .await;
        };
        let before = line.members.iter().find(|m| m.0 == whose);
        if before.map(|m| (m.1, m.2)) == Some((quantity, tolerance))
            || (before.is_none() && quantity.is_zero())
        {
            continue;
        }
        if let Err(e) = store::set_purchase(
            &state.kit.db,
            state.wallet.as_ref(),
            actor,
            id,
            whose,
            p,
            quantity,
            tolerance,
            Utc::now(),
            state.minor_units(),
        )
        .await
        {
            return refused_on_order(&state, &page, me, id, Some(&format!("q-{p}")), e).await;
        }
    }
    Ok(back(&state, id))
}

/// `POST /orders/{id}/close`.
pub async fn close(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    match store::close(&state.kit.db, me, id, Utc::now(), state.minor_units()).await {
        Ok(()) => Ok(back(&state, id)),
        Err(e) => refused_on_order(&state, &page, me, id, None, e).await,
    }
}

/// `POST /orders/{id}/cancel`: the order is not sent; every hold is given back.
pub async fn cancel(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    match store::cancel(&state.kit.db, state.wallet.as_ref(), me, id, Utc::now()).await {
        Ok(()) => Ok(back(&state, id)),
        Err(e) => refused_on_order(&state, &page, me, id, None, e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ReopenForm {
    #[serde(default)]
    ends_on: String,
    #[serde(default)]
    ends_at: String,
}

/// `POST /orders/{id}/reopen`: open again until a new end.
pub async fn reopen(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<ReopenForm>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let Some(ends) = local_instant(&state, &form.ends_on, &form.ends_at) else {
        let e = FormError::new(Some("ends_on"), page.t("club-error-end"));
        return render_order(&state, &page, me, id, &[e]).await;
    };
    match store::reopen(&state.kit.db, me, id, ends, Utc::now()).await {
        Ok(()) => Ok(back(&state, id)),
        Err(e) => refused_on_order(&state, &page, me, id, Some("ends_on"), e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct HandOverForm {
    #[serde(default)]
    to: String,
}

/// `POST /orders/{id}/hand-over`: another member manages the order.
pub async fn hand_over(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<HandOverForm>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let to = Uuid::parse_str(form.to.trim()).ok();
    let known = match to {
        Some(t) => members::named(&state.kit.db, &[t])
            .await?
            .iter()
            .any(|m| m.status == "active"),
        None => false,
    };
    let (Some(to), true) = (to, known) else {
        let e = FormError::new(Some("to"), page.t("club-error-member"));
        return render_order(&state, &page, me, id, &[e]).await;
    };
    match store::hand_over(&state.kit.db, me, id, to).await {
        Ok(()) => Ok(back(&state, id)),
        Err(e) => refused_on_order(&state, &page, me, id, Some("to"), e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ProductsForm {
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

/// `POST /orders/{id}/products`: offer more of the supplier's products.
pub async fn add_products(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<ProductsForm>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let products: Vec<Uuid> = form
        .rest
        .iter()
        .filter(|(k, v)| k.starts_with("p-") && v.as_str() == "on")
        .filter_map(|(k, _)| Uuid::parse_str(&k[2..]).ok())
        .collect();
    match store::add_products(&state.kit.db, me, id, &products).await {
        Ok(()) => Ok(back(&state, id)),
        Err(e) => refused_on_order(&state, &page, me, id, None, e).await,
    }
}

/// `POST /orders/{id}/products/{product}/remove`: its purchases go with it.
pub async fn remove_product(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path((id, product)): Path<(Uuid, Uuid)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    match store::remove_product(
        &state.kit.db,
        state.wallet.as_ref(),
        me,
        id,
        product,
        state.minor_units(),
    )
    .await
    {
        Ok(_told) => Ok(back(&state, id)),
        Err(e) => refused_on_order(&state, &page, me, id, None, e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    product: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    reason: String,
}

/// A quantity typed for a product sold in `unit` (the product's own text: "kg", "st",
/// "1 l bottle"), in that unit. A plain number is in it (`2,85` kg of apples). A number with a
/// unit is converted to it where both measure the same thing (`1500 g` of apples sold by the
/// kilo is 1,5) and refused where they do not (`2 l` of apples), so a typed unit is never
/// silently ignored. Where the product's unit is none of ours ("1 l bottle"), pieces (`3 st`)
/// count its units and any other unit is refused.
fn quantity_typed(text: &str, unit: &str) -> Option<Decimal> {
    if let Ok(n) = coop_domain::number::parse_non_negative(text) {
        return Some(n);
    }
    let typed = Quantity::parse(text).ok()?;
    match Unit::parse(unit) {
        Ok(own) => typed.convert_to(own).ok().map(|q| q.value()),
        Err(_) => (typed.unit() == Unit::Each).then(|| typed.value()),
    }
}

/// `POST /orders/{id}/changes`: the manager asks to change what a member gets.
pub async fn request_change(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<ChangeForm>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let (Ok(product), Ok(whose)) = (
        Uuid::parse_str(form.product.trim()),
        Uuid::parse_str(form.member.trim()),
    ) else {
        return Err(Refused::NotFound.into());
    };
    let unit = store::product_unit(&state.kit.db, id, product)
        .await?
        .ok_or(Refused::NotFound)?;
    let Some(quantity) = quantity_typed(&form.quantity, &unit) else {
        let e = FormError::new(Some("quantity"), page.t("club-error-quantity"));
        return render_order(&state, &page, me, id, &[e]).await;
    };
    match store::request_change(
        &state.kit.db,
        me,
        id,
        product,
        whose,
        quantity,
        &form.reason,
        Utc::now(),
    )
    .await
    {
        Ok(_) => Ok(back(&state, id)),
        Err(e) => refused_on_order(&state, &page, me, id, Some("reason"), e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    note: String,
}

/// `POST /changes/{id}/answer`: the member approves or disputes a change of their purchase.
pub async fn answer(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let approve = match form.answer.as_str() {
        "approve" => true,
        "dispute" => false,
        _ => return Err(coop_web::Error::BadRequest("approve or dispute".into()).into()),
    };
    let order = store::change_order(&state.kit.db, id, me)
        .await?
        .ok_or(Refused::NotFound)?;
    match store::answer_change(
        &state.kit.db,
        state.wallet.as_ref(),
        me,
        id,
        approve,
        &form.note,
        Utc::now(),
        state.minor_units(),
    )
    .await
    {
        Ok(()) => Ok(back(&state, order)),
        Err(
            e @ (Refused::Insufficient { .. }
            | Refused::WalletUnavailable
            | Refused::MemberInactive),
        ) => refused_on_order(&state, &page, me, order, None, e).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /changes/{id}/withdraw`: the manager takes a change back.
pub async fn withdraw(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let order = store::change_order_any(&state.kit.db, id)
        .await?
        .ok_or(Refused::NotFound)?;
    store::withdraw_change(&state.kit.db, me, id, Utc::now()).await?;
    Ok(back(&state, order))
}

/// `POST /orders/{id}/complete`: capture each member's part and book the order.
pub async fn complete(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let vat = |c: &str| state.vat_percent(c);
    match store::complete(
        &state.kit.db,
        state.wallet.as_ref(),
        me,
        id,
        Utc::now(),
        state.today(),
        state.minor_units(),
        &vat,
    )
    .await
    {
        Ok(()) => Ok(back(&state, id)),
        Err(e) => refused_on_order(&state, &page, me, id, None, e).await,
    }
}

/// `GET /orders/{id}/sorting`: per product, its cases and who gets how much (printable).
pub async fn sorting(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, Error> {
    member(&user)?;
    let order = store::order(&state.kit.db, id)
        .await?
        .ok_or(Refused::NotFound)?;
    let lines = store::sorting(&state.kit.db, id).await?;
    let ids: Vec<Uuid> = lines
        .iter()
        .flat_map(|l| l.members.iter().map(|m| m.0))
        .collect();
    let names = members::named(&state.kit.db, &ids).await?;
    let tz = state.kit.coop.time_zone;
    let q = |d: Decimal| super::qty(&page, tz, d);
    let lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            json!({
                "line": l, "case": q(l.case_size), "cases": q(l.cases), "units": q(l.units),
                "wanted": q(l.wanted),
                "members": l.members.iter().map(|m| json!({
                    "member": m.0, "quantity": q(m.1), "tolerance": q(m.2), "gets": q(m.3),
                    "short": m.3 < m.1,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let html = page.render(
        "sorting.html",
        &json!({ "order": order, "lines": lines, "names": super::name_map(&names) }),
    )?;
    Ok(html.into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct PartQuery {
    #[serde(default)]
    member: Option<Uuid>,
}

/// `GET /orders/{id}/part[?member=]`: a member's part of the order (the manager may see
/// anyone's; a member their own).
pub async fn part(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(q): Query<PartQuery>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let order = store::order(&state.kit.db, id)
        .await?
        .ok_or(Refused::NotFound)?;
    let whose = q.member.unwrap_or(me);
    if whose != me && order.manager_id != me {
        return Err(coop_web::Error::NotFound.into());
    }
    let vat = |c: &str| state.vat_percent(c);
    let parts = store::parts(&state.kit.db, id, state.minor_units(), &vat).await?;
    let tz = state.kit.coop.time_zone;
    let mine = parts.into_iter().find(|p| p.member == whose).map(|p| {
        json!({
            "total": p.total, "vat": p.vat,
            "lines": p.lines.iter().map(|l| json!({ "line": l, "quantity": super::qty(&page, tz, l.quantity) })).collect::<Vec<_>>(),
        })
    });
    let names = members::named(&state.kit.db, &[whose]).await?;
    let html = page.render(
        "part.html",
        &json!({ "order": order, "part": mine, "whose": whose, "names": super::name_map(&names) }),
    )?;
    Ok(html.into_response())
}

/// `GET /orders/{id}/export/{pdf,csv,json,jsonld}`: the order for the supplier (PDF), its
/// sorting view (CSV, JSON), or in ValueFlows (JSON-LD).
pub async fn export(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path((id, format)): Path<(Uuid, String)>,
) -> Result<Response, Error> {
    use axum::http::header;
    member(&user)?;
    let db = &state.kit.db;
    let order = store::order(db, id).await?.ok_or(Refused::NotFound)?;
    let supplier = store::supplier_any(db, order.supplier_id)
        .await?
        .ok_or(Refused::NotFound)?;
    let lines = store::sorting(db, id).await?;
    let articles = store::articles(db, id).await?;
    let ids: Vec<Uuid> = lines
        .iter()
        .flat_map(|l| l.members.iter().map(|m| m.0))
        .collect();
    let names = members::named(db, &ids).await?;
    let e = crate::exports::Export {
        order: &order,
        supplier: &supplier,
        lines: &lines,
        articles: &articles,
        members: &names,
        currency: state.kit.coop.currency.code(),
        minor: state.minor_units(),
    };
    let stem = format!("order-{}", &id.simple().to_string()[..8]);
    let (body, content_type, ext) = match format.as_str() {
        "pdf" => {
            let t = |k: &str| page.t(k);
            let labels = crate::exports::PdfLabels {
                t: &t,
                format: coop_web::format::Format::new(page.lang(), state.kit.coop.time_zone),
                org_name: &state.kit.coop.organisation.name,
                currency: state.kit.coop.currency,
            };
            (crate::exports::pdf(&e, &labels), "application/pdf", "pdf")
        }
        "csv" => (
            crate::exports::csv(&e).into_bytes(),
            "text/csv; charset=utf-8",
            "csv",
        ),
        "json" => (
            serde_json::to_vec_pretty(&crate::exports::json(&e)).unwrap_or_default(),
            "application/json",
            "json",
        ),
        "jsonld" => (
            serde_json::to_vec_pretty(&crate::exports::valueflows(&e, &state.url(""), Utc::now()))
                .unwrap_or_default(),
            "application/ld+json",
            "jsonld",
        ),
        _ => return Err(coop_web::Error::NotFound.into()),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{stem}.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::quantity_typed;

    #[test]
    fn a_quantity_is_read_in_the_products_own_unit() {
        // A plain number is in the product's unit.
        assert_eq!(quantity_typed("2,85", "kg"), Some(dec!(2.85)));
        assert_eq!(quantity_typed(" 3 ", "st"), Some(dec!(3)));
        // A typed unit of the same kind is converted, not ignored.
        assert_eq!(quantity_typed("1500 g", "kg"), Some(dec!(1.5)));
        assert_eq!(quantity_typed("1,5 kg", "kg"), Some(dec!(1.5)));
        assert_eq!(quantity_typed("2 kg", "g"), Some(dec!(2000)));
        assert_eq!(quantity_typed("750 ml", "l"), Some(dec!(0.75)));
        assert_eq!(quantity_typed("3 st", "st"), Some(dec!(3)));
        // Another kind of unit is refused.
        assert_eq!(quantity_typed("2 l", "kg"), None);
        assert_eq!(quantity_typed("2 st", "kg"), None);
        assert_eq!(quantity_typed("500 g", "st"), None);
        // A product sold in its own kind of unit takes pieces of it, nothing else.
        assert_eq!(quantity_typed("3 st", "1 l bottle"), Some(dec!(3)));
        assert_eq!(quantity_typed("2", "1 l bottle"), Some(dec!(2)));
        assert_eq!(quantity_typed("2 kg", "1 l bottle"), None);
        // Nothing else is a quantity.
        assert_eq!(quantity_typed("-1", "kg"), None);
        assert_eq!(quantity_typed("lots", "kg"), None);
        assert_eq!(quantity_typed("1,5 st", "st"), None);
    }
}
