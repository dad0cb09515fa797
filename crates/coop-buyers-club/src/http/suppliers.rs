//! Suppliers and their products, which any member keeps: the list with a form to add one, a
//! supplier's page with its details, its products and a form for another.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use coop_domain::money::Money;
use coop_domain::quantity::Quantity;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{field_errors, form_page, member, AppState, Error, FormError, NoFields};
use crate::store::{self, ProductDraft, Refused, SupplierDraft};

#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct SupplierForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
    #[serde(default)]
    order_threshold: String,
    #[serde(default)]
    lead_time_days: String,
}

impl SupplierForm {
    fn of(s: &store::Supplier) -> Self {
        Self {
            name: s.name.clone(),
            contact: s.contact.clone(),
            address: s.address.clone(),
            latitude: s.latitude.map(|d| d.to_string()).unwrap_or_default(),
            longitude: s.longitude.map(|d| d.to_string()).unwrap_or_default(),
            order_threshold: s.order_threshold.to_string(),
            lead_time_days: s.lead_time_days.to_string(),
        }
    }

    /// The draft, or what is wrong with the form, field by field.
    fn draft(&self, state: &AppState, page: &Page) -> Result<SupplierDraft, Vec<FormError>> {
        let mut errors = Vec::new();
        let coordinate = |s: &str| -> Option<Option<Decimal>> {
            let s = s.trim().replace(',', ".");
            if s.is_empty() {
                Some(None)
            } else {
                s.parse::<Decimal>().ok().map(|d| Some(d.round_dp(6)))
            }
        };
        let location = match (coordinate(&self.latitude), coordinate(&self.longitude)) {
            (Some(None), Some(None)) => None,
            (Some(Some(lat)), Some(Some(lon))) => Some((lat, lon)),
            _ => {
                errors.push(FormError::new(
                    Some("latitude"),
                    page.t("club-error-location"),
                ));
                None
            }
        };
        let threshold = if self.order_threshold.trim().is_empty() {
            Some(Decimal::ZERO)
        } else {
            Money::parse(&self.order_threshold, state.kit.coop.currency)
                .ok()
                .map(|m| m.amount())
                .filter(|a| !a.is_sign_negative())
        };
        if threshold.is_none() {
            errors.push(FormError::new(
                Some("order_threshold"),
                page.t("club-error-amount"),
            ));
        }
        let lead: Option<i32> = if self.lead_time_days.trim().is_empty() {
            Some(0)
        } else {
            self.lead_time_days
                .trim()
                .parse()
                .ok()
                .filter(|d| (0..=365).contains(d))
        };
        if lead.is_none() {
            errors.push(FormError::new(
                Some("lead_time_days"),
                page.t("club-error-days"),
            ));
        }
        if self.name.trim().is_empty() {
            errors.push(FormError::new(Some("name"), page.t("club-error-name")));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SupplierDraft {
            name: self.name.clone(),
            contact: self.contact.clone(),
            address: self.address.clone(),
            location,
            order_threshold: threshold.unwrap_or_default(),
            lead_time_days: lead.unwrap_or_default(),
        })
    }
}

fn refusal(e: Refused) -> Result<FormError, Error> {
    match e {
        Refused::Invalid(m) => Ok(FormError::new(None, m)),
        other => Err(other.into()),
    }
}

async fn render_list(
    state: &AppState,
    page: &Page,
    form: &SupplierForm,
    errors: &[FormError],
) -> Result<Response, Error> {
    let suppliers = store::suppliers(&state.kit.db).await?;
    let html = page.render(
        "suppliers.html",
        &json!({ "suppliers": suppliers, "form": form, "errors": errors,
                 "field_errors": field_errors(errors) }),
    )?;
    Ok(form_page(errors, html))
}

/// `GET /suppliers`: the producers and suppliers, where they are, and a form for another.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    member(&user)?;
    render_list(&state, &page, &SupplierForm::default(), &[]).await
}

/// `POST /suppliers`.
pub async fn create(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<SupplierForm>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let draft = match form.draft(&state, &page) {
        Ok(d) => d,
        Err(errors) => return render_list(&state, &page, &form, &errors).await,
    };
    match store::add_supplier(&state.kit.db, me, &draft).await {
        Ok(id) => Ok(Redirect::to(&state.url(&format!("/suppliers/{id}"))).into_response()),
        Err(e) => render_list(&state, &page, &form, &[refusal(e)?]).await,
    }
}

#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct ProductForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    article_id: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    case_size: String,
    #[serde(default)]
    unit_price: String,
    #[serde(default)]
    vat_class: String,
}

impl ProductForm {
    fn draft(&self, state: &AppState, page: &Page) -> Result<ProductDraft, Vec<FormError>> {
        let mut errors = Vec::new();
        let case_size = if self.case_size.trim().is_empty() {
            Some(Decimal::ONE)
        } else {
            Quantity::parse(&self.case_size).ok().map(|q| q.value())
        };
        if case_size.is_none_or(|c| c <= Decimal::ZERO) {
            errors.push(FormError::new(
                Some("case_size"),
                page.t("club-error-quantity"),
            ));
        }
        let price = Money::parse(&self.unit_price, state.kit.coop.currency)
            .ok()
            .map(|m| m.amount())
            .filter(|a| !a.is_sign_negative());
        if price.is_none() {
            errors.push(FormError::new(
                Some("unit_price"),
                page.t("club-error-amount"),
            ));
        }
        if self.name.trim().is_empty() {
            errors.push(FormError::new(Some("name"), page.t("club-error-name")));
        }
        if self.unit.trim().is_empty() {
            errors.push(FormError::new(Some("unit"), page.t("club-error-unit")));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ProductDraft {
            name: self.name.clone(),
            article_id: self.article_id.clone(),
            unit: self.unit.clone(),
            case_size: case_size.unwrap_or(Decimal::ONE),
            unit_price: price.unwrap_or_default(),
            vat_class: self.vat_class.clone(),
        })
    }
}

async fn render_supplier(
    state: &AppState,
    page: &Page,
    id: Uuid,
    form: Option<&SupplierForm>,
    product: &ProductForm,
    errors: &[FormError],
) -> Result<Response, Error> {
    render_supplier_with(state, page, id, form, product, errors, None).await
}

async fn render_supplier_with(
    state: &AppState,
    page: &Page,
    id: Uuid,
    form: Option<&SupplierForm>,
    product: &ProductForm,
    errors: &[FormError],
    imported: Option<&crate::price_list::Imported>,
) -> Result<Response, Error> {
    let s = store::supplier(&state.kit.db, id)
        .await?
        .ok_or(Refused::NotFound)?;
    let tz = state.kit.coop.time_zone;
    let products: Vec<serde_json::Value> = store::products(&state.kit.db, id)
        .await?
        .iter()
        .map(|p| json!({ "product": p, "case": super::qty(page, tz, p.case_size) }))
        .collect();
    let form = form.cloned().unwrap_or_else(|| SupplierForm::of(&s));
    let html = page.render(
        "supplier.html",
        &json!({ "supplier": s, "products": products, "form": form, "product": product,
                 "vat_classes": state.vat_classes(), "errors": errors,
                 "field_errors": field_errors(errors), "imported": imported }),
    )?;
    Ok(form_page(errors, html))
}

/// `GET /suppliers/{id}`.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, Error> {
    member(&user)?;
    let product = ProductForm {
        case_size: "1".into(),
        vat_class: state.vat_classes().first().cloned().unwrap_or_default(),
        ..ProductForm::default()
    };
    render_supplier(&state, &page, id, None, &product, &[]).await
}

/// `POST /suppliers/{id}`: its details changed.
pub async fn update(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<SupplierForm>,
) -> Result<Response, Error> {
    member(&user)?;
    let draft = match form.draft(&state, &page) {
        Ok(d) => d,
        Err(errors) => {
            return render_supplier(
                &state,
                &page,
                id,
                Some(&form),
                &ProductForm::default(),
                &errors,
            )
            .await
        }
    };
    match store::edit_supplier(&state.kit.db, id, &draft).await {
        Ok(()) => Ok(Redirect::to(&state.url(&format!("/suppliers/{id}"))).into_response()),
        Err(e) => {
            let errors = [refusal(e)?];
            render_supplier(
                &state,
                &page,
                id,
                Some(&form),
                &ProductForm::default(),
                &errors,
            )
            .await
        }
    }
}

/// `POST /suppliers/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, Error> {
    member(&user)?;
    match store::delete_supplier(&state.kit.db, id).await {
        Ok(()) => Ok(Redirect::to(&state.url("/suppliers")).into_response()),
        Err(e) => {
            let errors = [refusal(e)?];
            render_supplier(&state, &page, id, None, &ProductForm::default(), &errors).await
        }
    }
}

/// `POST /suppliers/{id}/products`: a product on its list.
pub async fn add_product(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<ProductForm>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let draft = match form.draft(&state, &page) {
        Ok(d) => d,
        Err(errors) => return render_supplier(&state, &page, id, None, &form, &errors).await,
    };
    let vat = state.vat_classes();
    match store::add_product(&state.kit.db, me, id, &draft, &vat, state.minor_units()).await {
        Ok(_) => Ok(Redirect::to(&state.url(&format!("/suppliers/{id}"))).into_response()),
        Err(e) => {
            let errors = [refusal(e)?];
            render_supplier(&state, &page, id, None, &form, &errors).await
        }
    }
}

/// The largest price list a member may upload.
pub const PRICE_LIST_LIMIT: usize = 4 * 1024 * 1024;

/// `POST /suppliers/{id}/price-list`: a CSV of products; every row good, or nothing imported
/// and every bad row listed by its line.
pub async fn price_list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    form: coop_web::CsrfMultipart,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let blank = ProductForm::default();
    let Some(file) = form.file("file") else {
        let e = FormError::new(Some("file"), page.t("club-price-list-no-file"));
        return render_supplier(&state, &page, id, None, &blank, &[e]).await;
    };
    let classes = state.vat_classes();
    let (rows, bad) = crate::price_list::parse(&file.bytes, state.kit.coop.currency, &classes);
    if !bad.is_empty() || rows.is_empty() {
        let mut errors: Vec<FormError> = bad
            .iter()
            .map(|e| {
                FormError::new(
                    Some("file"),
                    format!(
                        "{} {}: {}",
                        page.t("club-price-list-line"),
                        e.line,
                        e.message
                    ),
                )
            })
            .collect();
        if errors.is_empty() {
            errors.push(FormError::new(
                Some("file"),
                page.t("club-price-list-empty"),
            ));
        }
        return render_supplier(&state, &page, id, None, &blank, &errors).await;
    }
    let done = crate::price_list::apply(&state.kit.db, me, id, &rows).await?;
    render_supplier_with(&state, &page, id, None, &blank, &[], Some(&done)).await
}

async fn supplier_of(state: &AppState, product: Uuid) -> Result<Uuid, Error> {
    Ok(store::product_supplier(&state.kit.db, product)
        .await?
        .ok_or(Refused::NotFound)?)
}

async fn render_product(
    state: &AppState,
    page: &Page,
    id: Uuid,
    form: Option<&ProductForm>,
    errors: &[FormError],
) -> Result<Response, Error> {
    let supplier = supplier_of(state, id).await?;
    let s = store::supplier(&state.kit.db, supplier)
        .await?
        .ok_or(Refused::NotFound)?;
    let p = store::products(&state.kit.db, supplier)
        .await?
        .into_iter()
        .find(|p| p.product_id == id)
        .ok_or(Refused::NotFound)?;
    let form = form.cloned().unwrap_or_else(|| ProductForm {
        name: p.name.clone(),
        article_id: p.article_id.clone(),
        unit: p.unit.clone(),
        case_size: p.case_size.normalize().to_string(),
        unit_price: p.unit_price.to_string(),
        vat_class: p.vat_class.clone(),
    });
    let html = page.render(
        "product.html",
        &json!({ "supplier": s, "product_id": id, "name": p.name, "product": form,
                 "vat_classes": state.vat_classes(), "errors": errors,
                 "field_errors": field_errors(errors) }),
    )?;
    Ok(form_page(errors, html))
}

/// `GET /products/{id}`: a product's form.
pub async fn product(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, Error> {
    member(&user)?;
    render_product(&state, &page, id, None, &[]).await
}

/// `POST /products/{id}`: a product changed (orders keep the price they offered it at).
pub async fn update_product(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<ProductForm>,
) -> Result<Response, Error> {
    member(&user)?;
    let supplier = supplier_of(&state, id).await?;
    let draft = match form.draft(&state, &page) {
        Ok(d) => d,
        Err(errors) => return render_product(&state, &page, id, Some(&form), &errors).await,
    };
    let vat = state.vat_classes();
    match store::edit_product(&state.kit.db, id, &draft, &vat, state.minor_units()).await {
        Ok(()) => Ok(Redirect::to(&state.url(&format!("/suppliers/{supplier}"))).into_response()),
        Err(e) => {
            let errors = [refusal(e)?];
            render_product(&state, &page, id, Some(&form), &errors).await
        }
    }
}

/// `POST /products/{id}/delete`.
pub async fn delete_product(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, Error> {
    member(&user)?;
    let supplier = supplier_of(&state, id).await?;
    store::delete_product(&state.kit.db, id).await?;
    Ok(Redirect::to(&state.url(&format!("/suppliers/{supplier}"))).into_response())
}
