//! Suppliers for managers: the list, a new supplier, and a supplier's price list (CSV) into the
//! catalogue with every bad row reported by its line.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, CsrfMultipart, Page};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{field_errors, form_page, AppState, Error, FormError};
use crate::catalogue;
use crate::price_list::{self, Imported, RowError};

/// The largest price list a manager may upload.
pub const PRICE_LIST_LIMIT: usize = 8 * 1024 * 1024;

/// The body limit for the upload route.
pub fn limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(PRICE_LIST_LIMIT)
}

#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct SupplierForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    lead_time_days: String,
}

async fn render_list(
    state: &AppState,
    page: &Page,
    form: &SupplierForm,
    errors: &[FormError],
) -> Result<Response, Error> {
    let suppliers = catalogue::suppliers(&state.kit.db).await?;
    let html = page.render(
        "suppliers.html",
        &json!({ "suppliers": suppliers, "form": form, "errors": errors,
                 "field_errors": field_errors(errors) }),
    )?;
    Ok(form_page(errors, html))
}

/// `GET /suppliers`.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let form = SupplierForm {
        lead_time_days: "2".into(),
        ..SupplierForm::default()
    };
    render_list(&state, &page, &form, &[]).await
}

/// `POST /suppliers`: a new supplier.
pub async fn create(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<SupplierForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let mut errors = Vec::new();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FormError {
            field: Some("name".into()),
            message: "a name of 1 to 200 characters".into(),
        });
    }
    let email = Some(form.email.trim()).filter(|e| !e.is_empty());
    if email.is_some_and(|e| coop_domain::EmailAddress::parse(e).is_err()) {
        errors.push(FormError {
            field: Some("email".into()),
            message: "an email address such as order@supplier.se".into(),
        });
    }
    let lead: Option<i32> = form
        .lead_time_days
        .trim()
        .parse()
        .ok()
        .filter(|d| (0..=365).contains(d));
    if lead.is_none() {
        errors.push(FormError {
            field: Some("lead_time_days".into()),
            message: "whole days, 0 to 365".into(),
        });
    }
    if !errors.is_empty() {
        return render_list(&state, &page, &form, &errors).await;
    }
    let id = catalogue::supplier(&state.kit.db, name, email, lead.unwrap_or(2)).await?;
    Ok(Redirect::to(&state.kit.service.url(&format!("/suppliers/{id}"))).into_response())
}

async fn render_supplier(
    state: &AppState,
    page: &Page,
    id: Uuid,
    errors: &[RowError],
    imported: Option<&Imported>,
) -> Result<Response, Error> {
    let Some(s) = catalogue::suppliers(&state.kit.db)
        .await?
        .into_iter()
        .find(|s| s.supplier_id == id)
    else {
        return Err(coop_web::Error::NotFound.into());
    };
    let summary: Vec<FormError> = if errors.is_empty() {
        Vec::new()
    } else {
        vec![FormError {
            field: Some("file".into()),
            message: page.t("ims-price-list-refused"),
        }]
    };
    let html = page.render(
        "supplier.html",
        &json!({ "supplier": s, "rows": errors, "imported": imported, "errors": summary }),
    )?;
    Ok(form_page(&summary, html))
}

/// `GET /suppliers/{id}`.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    render_supplier(&state, &page, id, &[], None).await
}

/// `POST /suppliers/{id}/price-list`: a CSV; all rows good, or `skip_bad` to import the good.
pub async fn price_list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    form: CsrfMultipart,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let Some(file) = form.file("file") else {
        let e = RowError {
            line: 0,
            message: page.t("ims-price-list-no-file"),
        };
        return render_supplier(&state, &page, id, &[e], None).await;
    };
    let skip = form.text("skip_bad").is_some();
    let classes = state.vat_classes();
    let (rows, errors) = price_list::parse(&file.bytes, state.minor_units(), &classes);
    if !errors.is_empty() && (!skip || rows.is_empty()) {
        return render_supplier(&state, &page, id, &errors, None).await;
    }
    let default_vat = classes.first().cloned().unwrap_or_default();
    match price_list::apply(&state.kit.db, id, &rows, &default_vat).await {
        Ok(mut done) => {
            done.skipped = errors.len();
            render_supplier(&state, &page, id, &errors, Some(&done)).await
        }
        Err(catalogue::CatalogueError::Invalid { message, .. }) => {
            let e = RowError { line: 0, message };
            render_supplier(&state, &page, id, &[e], None).await
        }
        Err(e) => Err(e.into()),
    }
}
