//! The catalogue for managers: the list with search, a product's page (its fields, codes,
//! packs, prices to come, stock per location and latest movements) and the forms that change
//! them. Every handler checks the `manager` role first; a refused form shows the page again
//! with the reasons and changes nothing.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{field_errors, form_page, member_id, AppState, Error, FormError};
use crate::catalogue::{self, Code, ProductDetail, ProductForm};
use crate::stock::{self, MovementKind, NewMovement, ShrinkReason};

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<i64>,
}

fn url(state: &AppState, path: &str) -> String {
    state.kit.service.url(path)
}

/// `GET /products?q&page`: the catalogue, searchable by name, SKU or code.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, Error> {
    user.require(Role::Manager)?;
    let n = q.page.unwrap_or(1).clamp(1, 10_000);
    let rows = catalogue::search(
        &state.kit.db,
        &q.q,
        page.lang().code(),
        state.today(),
        true,
        PAGE_SIZE + 1,
        (n - 1) * PAGE_SIZE,
    )
    .await?;
    let shown = usize::try_from(PAGE_SIZE).unwrap_or(50);
    let more = rows.len() > shown;
    let rows: Vec<_> = rows.into_iter().take(shown).collect();
    Ok(page.render(
        "products.html",
        &json!({ "rows": rows, "q": q.q, "page_no": n, "more": more }),
    )?)
}

fn blank_form() -> ProductForm {
    ProductForm {
        unit: "each".into(),
        case_size: "1".into(),
        active: Some("on".into()),
        ..ProductForm::default()
    }
}

async fn render_product(
    state: &AppState,
    page: &Page,
    detail: Option<&ProductDetail>,
    form: &ProductForm,
    errors: &[FormError],
    done: Option<&str>,
) -> Result<Response, Error> {
    let db = &state.kit.db;
    let suppliers = catalogue::suppliers(db).await?;
    let locations = stock::locations(db).await?;
    let (levels, movements) = match detail {
        Some(d) => (
            stock::levels(db, d.product.product_id).await?,
            stock::movements(db, d.product.product_id, 20).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let codes: Vec<_> = detail
        .map(|d| {
            d.codes
                .iter()
                .map(|c| json!({ "kind": c.kind, "code": c.code, "shown": c.display() }))
                .collect()
        })
        .unwrap_or_default();
    let packs: Vec<_> = detail
        .map(|d| {
            d.packs
                .iter()
                .map(|(p, codes)| {
                    json!({ "pack": p, "codes": codes.iter().map(Code::display).collect::<Vec<_>>() })
                })
                .collect()
        })
        .unwrap_or_default();
    // Planned price changes that can still be cancelled: those after today.
    let today = state.today();
    let cancellable: Vec<String> = detail
        .map(|d| {
            d.price_changes
                .iter()
                .filter(|c| c.effective_on > today)
                .map(|c| c.effective_on.to_string())
                .collect()
        })
        .unwrap_or_default();
    let html = page.render(
        "product.html",
        &json!({
            "cancellable": cancellable,
            "detail": detail,
            "codes": codes,
            "packs": packs,
            "form": form,
            "errors": errors,
            "field_errors": field_errors(errors),
            "suppliers": suppliers,
            "vat_classes": state.vat_classes(),
            "locations": locations,
            "levels": levels,
            "movements": movements,
            "reasons": ShrinkReason::ALL.map(ShrinkReason::as_str),
            "today": state.today(),
            "default_lang": state.default_lang(),
            "notice": done.and_then(notice),
        }),
    )?;
    Ok(form_page(errors, html))
}

/// The `done` notice keys a redirect may carry: nothing else is shown.
fn notice(done: &str) -> Option<&'static str> {
    match done {
        "created" => Some("ims-done-created"),
        "saved" => Some("ims-done-saved"),
        "code" => Some("ims-done-code"),
        "pack" => Some("ims-done-pack"),
        "price" => Some("ims-done-price"),
        "pack-retired" => Some("ims-done-pack-retired"),
        "price-cancelled" => Some("ims-done-price-cancelled"),
        "stock" => Some("ims-done-stock"),
        _ => None,
    }
}

/// `GET /products/new`.
pub async fn new(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    render_product(&state, &page, None, &blank_form(), &[], None).await
}

fn form_of(d: &ProductDetail, default_lang: &str) -> ProductForm {
    let p = &d.product;
    let name_in = |lang: &str| {
        if lang == default_lang {
            String::new()
        } else {
            d.names.get(lang).cloned().unwrap_or_default()
        }
    };
    ProductForm {
        sku: p.sku.clone(),
        name: p.name.clone(),
        name_sv: name_in("sv"),
        name_en: name_in("en"),
        unit: p.unit.as_str().to_owned(),
        vat_class: p.vat_class.clone(),
        supplier: p.supplier_id.map(|s| s.to_string()).unwrap_or_default(),
        supplier_article: p.supplier_article.clone().unwrap_or_default(),
        cost: p.cost.to_string(),
        shelf_price: p.shelf_price.to_string(),
        member_price: p.member_price.map(|m| m.to_string()).unwrap_or_default(),
        case_size: p.case_size.normalize().to_string(),
        active: p.active.then(|| "on".to_owned()),
        aisle: p.aisle.clone().unwrap_or_default(),
        shelf: p.shelf.clone().unwrap_or_default(),
        codes: String::new(),
    }
}

/// `POST /products`: a new product with its first codes.
pub async fn create(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<ProductForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let draft = form.check(
        &state.vat_classes(),
        state.minor_units(),
        state.default_lang(),
    );
    let errors: Vec<FormError> = match draft {
        Ok(d) => match catalogue::create(&state.kit.db, &d).await {
            Ok(id) => {
                return Ok(
                    Redirect::to(&url(&state, &format!("/products/{id}?done=created")))
                        .into_response(),
                )
            }
            Err(e) => vec![FormError::from_catalogue(&e).ok_or(e)?],
        },
        Err(errs) => errs.iter().filter_map(FormError::from_catalogue).collect(),
    };
    render_product(&state, &page, None, &form, &errors, None).await
}

async fn load(state: &AppState, id: Uuid) -> Result<ProductDetail, Error> {
    let mut conn = state.kit.db.acquire().await?;
    catalogue::detail(&mut conn, id)
        .await?
        .ok_or_else(|| coop_web::Error::NotFound.into())
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /products/{id}`.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(d): Query<Done>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let detail = load(&state, id).await?;
    let form = form_of(&detail, state.default_lang());
    render_product(&state, &page, Some(&detail), &form, &[], d.done.as_deref()).await
}

/// `POST /products/{id}`: the product's fields.
pub async fn update(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(mut form): CsrfForm<ProductForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let detail = load(&state, id).await?;
    // Codes are changed one at a time on this page, never through the fields form.
    form.codes = String::new();
    let errors: Vec<FormError> = match form.check(
        &state.vat_classes(),
        state.minor_units(),
        state.default_lang(),
    ) {
        Ok(d) => match catalogue::update(&state.kit.db, id, &d).await {
            Ok(()) => return Ok(done(&state, id, "saved")),
            Err(e) => vec![FormError::from_catalogue(&e).ok_or(e)?],
        },
        Err(errs) => errs.iter().filter_map(FormError::from_catalogue).collect(),
    };
    render_product(&state, &page, Some(&detail), &form, &errors, None).await
}

fn done(state: &AppState, id: Uuid, what: &str) -> Response {
    Redirect::to(&url(state, &format!("/products/{id}?done={what}"))).into_response()
}

/// The product page again with one refusal.
async fn refused(
    state: &AppState,
    page: &Page,
    id: Uuid,
    error: FormError,
) -> Result<Response, Error> {
    let detail = load(state, id).await?;
    let form = form_of(&detail, state.default_lang());
    render_product(state, page, Some(&detail), &form, &[error], None).await
}

async fn catalogue_outcome(
    state: &AppState,
    page: &Page,
    id: Uuid,
    r: Result<(), catalogue::CatalogueError>,
    what: &str,
) -> Result<Response, Error> {
    match r {
        Ok(()) => Ok(done(state, id, what)),
        Err(e) => {
            let f = FormError::from_catalogue(&e).ok_or(e)?;
            refused(state, page, id, f).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /products/{id}/codes`: one more GTIN or PLU.
pub async fn add_code(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let r = match Code::parse(&form.code) {
        Ok(c) => catalogue::add_code(&state.kit.db, id, &c).await,
        Err(e) => Err(e),
    };
    catalogue_outcome(&state, &page, id, r, "code").await
}

#[derive(Debug, Default, Deserialize)]
pub struct RemoveCodeForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    code: String,
}

/// `POST /products/{id}/codes/remove`.
pub async fn remove_code(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<RemoveCodeForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let code = Code {
        kind: form.kind,
        code: form.code,
    };
    if catalogue::remove_code(&state.kit.db, id, &code).await? {
        Ok(done(&state, id, "code"))
    } else {
        Err(coop_web::Error::NotFound.into())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PackForm {
    #[serde(default)]
    pack_name: String,
    #[serde(default)]
    units: String,
    #[serde(default)]
    pack_price: String,
    #[serde(default)]
    pack_member_price: String,
    #[serde(default)]
    gtin: String,
}

/// `POST /products/{id}/packs`: a pack of several units under a barcode of its own.
pub async fn add_pack(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<PackForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let mu = state.minor_units();
    let r = async {
        let units: i32 =
            form.units
                .trim()
                .parse()
                .map_err(|_| catalogue::CatalogueError::Invalid {
                    field: "units",
                    message: "a whole number of units, 2 or more".into(),
                })?;
        let price = catalogue::parse_money("pack_price", &form.pack_price, mu)?;
        let member = match form.pack_member_price.trim() {
            "" => None,
            s => Some(catalogue::parse_money("pack_member_price", s, mu)?),
        };
        let gtin = Code::parse(&form.gtin).map_err(|e| match e {
            catalogue::CatalogueError::Invalid { message, .. } => {
                catalogue::CatalogueError::Invalid {
                    field: "gtin",
                    message,
                }
            }
            other => other,
        })?;
        catalogue::add_pack(
            &state.kit.db,
            id,
            &form.pack_name,
            units,
            price,
            member,
            &gtin,
        )
        .await
        .map(|_| ())
    }
    .await;
    catalogue_outcome(&state, &page, id, r, "pack").await
}

/// `POST /products/{id}/packs/{pack}/retire`: the pack off sale, its barcode free again.
pub async fn retire_pack(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, pack)): Path<(Uuid, Uuid)>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    if catalogue::retire_pack(&state.kit.db, id, pack).await? {
        Ok(done(&state, id, "pack-retired"))
    } else {
        Err(coop_web::Error::NotFound.into())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CancelPriceForm {
    #[serde(default)]
    effective_on: String,
}

/// `POST /products/{id}/prices/cancel`: a planned price change dropped before its day.
pub async fn cancel_price(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<CancelPriceForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let Ok(on) = chrono::NaiveDate::parse_from_str(form.effective_on.trim(), "%Y-%m-%d") else {
        return Err(coop_web::Error::BadRequest("a date as year-month-day".into()).into());
    };
    match catalogue::cancel_price_change(&state.kit.db, id, on, state.today()).await {
        Ok(true) => Ok(done(&state, id, "price-cancelled")),
        Ok(false) => Err(coop_web::Error::NotFound.into()),
        Err(e) => {
            let f = FormError::from_catalogue(&e).ok_or(e)?;
            refused(&state, &page, id, f).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PriceForm {
    #[serde(default)]
    effective_on: String,
    #[serde(default)]
    new_shelf_price: String,
    #[serde(default)]
    new_member_price: String,
}

/// `POST /products/{id}/prices`: new prices from a day.
pub async fn schedule_price(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<PriceForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let mu = state.minor_units();
    let r = async {
        let on = chrono::NaiveDate::parse_from_str(form.effective_on.trim(), "%Y-%m-%d").map_err(
            |_| catalogue::CatalogueError::Invalid {
                field: "effective_on",
                message: "a date as year-month-day".into(),
            },
        )?;
        let shelf = catalogue::parse_money("new_shelf_price", &form.new_shelf_price, mu)?;
        let member = match form.new_member_price.trim() {
            "" => None,
            s => Some(catalogue::parse_money("new_member_price", s, mu)?),
        };
        catalogue::schedule_price(
            &state.kit.db,
            id,
            on,
            state.today(),
            shelf,
            member,
            member_id(&user),
        )
        .await
    }
    .await;
    catalogue_outcome(&state, &page, id, r, "price").await
}

#[derive(Debug, Default, Deserialize)]
pub struct StockForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    to_location: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

/// `POST /products/{id}/stock`: a delivery received, shrink with its reason, a return to the
/// shelf, or a transfer between locations.
pub async fn move_stock(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<StockForm>,
) -> Result<Response, Error> {
    use catalogue::CatalogueError as C;
    user.require(Role::Manager)?;
    let detail = load(&state, id).await?;
    let bad = |field: &'static str, message: &str| FormError {
        field: Some(field.into()),
        message: message.into(),
    };
    let quantity = match catalogue::parse_quantity("quantity", &form.quantity, detail.product.unit)
    {
        Ok(q) if q > rust_decimal::Decimal::ZERO => q,
        Ok(_) => return refused(&state, &page, id, bad("quantity", "a quantity above zero")).await,
        Err(C::Invalid { message, .. }) => {
            return refused(&state, &page, id, bad("quantity", &message)).await
        }
        Err(e) => return Err(e.into()),
    };
    let Ok(location) = Uuid::parse_str(form.location.trim()) else {
        return refused(&state, &page, id, bad("location", "choose a location")).await;
    };
    if form.note.trim().chars().count() > 500 {
        return refused(
            &state,
            &page,
            id,
            bad("note", "a note has at most 500 characters"),
        )
        .await;
    }
    let note = Some(form.note.trim()).filter(|n| !n.is_empty());
    let on = state.today();
    let by = member_id(&user);
    let one = |kind, reason, quantity| NewMovement {
        product_id: id,
        location_id: location,
        kind,
        reason,
        quantity,
        on,
        source_key: None,
        transfer_id: None,
        note,
        by,
    };
    let r = match form.action.as_str() {
        "receive" => stock::record_one(&state.kit.db, &one(MovementKind::Received, None, quantity))
            .await
            .map(|_| ()),
        "return" => stock::record_one(&state.kit.db, &one(MovementKind::Returned, None, quantity))
            .await
            .map(|_| ()),
        "shrink" => {
            let Some(reason) = ShrinkReason::parse(&form.reason) else {
                return refused(&state, &page, id, bad("reason", "choose why it was lost")).await;
            };
            stock::record_one(
                &state.kit.db,
                &one(MovementKind::Shrink, Some(reason), -quantity),
            )
            .await
            .map(|_| ())
        }
        "transfer" => {
            let Ok(to) = Uuid::parse_str(form.to_location.trim()) else {
                return refused(
                    &state,
                    &page,
                    id,
                    bad("to_location", "choose where it goes"),
                )
                .await;
            };
            stock::transfer(&state.kit.db, id, location, to, quantity, on, by)
                .await
                .map(|_| ())
        }
        _ => return refused(&state, &page, id, bad("action", "choose what happened")).await,
    };
    match r {
        Ok(()) => Ok(done(&state, id, "stock")),
        Err(stock::StockError::Database(e)) => Err(e.into()),
        Err(e) => refused(&state, &page, id, bad("quantity", &e.to_string())).await,
    }
}
