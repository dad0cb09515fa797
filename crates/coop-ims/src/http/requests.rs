//! Product requests: members ask and vote; managers accept or decline with a reason, and the
//! member is told by email in the language they asked in.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::i18n::FluentValue;
use coop_web::{CsrfForm, Lang, Page};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{field_errors, form_page, member_id, AppState, Error, FormError};
use crate::request::{self, Decided, RequestError, Requester};

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct RequestForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    details: String,
}

fn me(user: &CurrentUser) -> Result<Uuid, Error> {
    member_id(user).ok_or_else(|| {
        coop_web::Error::Internal(anyhow::anyhow!("the member id is not a UUID")).into()
    })
}

async fn render(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    form: &RequestForm,
    errors: &[FormError],
    done: Option<&str>,
) -> Result<Response, Error> {
    let rows = request::list(&state.kit.db, me(user)?).await?;
    let notice = match done {
        Some("asked") => Some("ims-request-done-asked"),
        Some("voted") => Some("ims-request-done-voted"),
        Some("decided") => Some("ims-request-done-decided"),
        Some("unmailed") => Some("ims-request-done-unmailed"),
        _ => None,
    };
    let html = page.render(
        "requests.html",
        &json!({
            "rows": rows, "form": form, "errors": errors, "field_errors": field_errors(errors),
            "notice": notice, "is_manager": user.has(Role::Manager),
        }),
    )?;
    Ok(form_page(errors, html))
}

/// `GET /requests`.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(d): Query<Done>,
) -> Result<Response, Error> {
    user.require(Role::Member)?;
    render(
        &state,
        &page,
        &user,
        &RequestForm::default(),
        &[],
        d.done.as_deref(),
    )
    .await
}

fn to(state: &AppState, done: &str) -> Response {
    Redirect::to(&state.kit.service.url(&format!("/requests?done={done}"))).into_response()
}

fn refusal(e: &RequestError) -> Option<FormError> {
    let field = match e {
        RequestError::Title => Some("title"),
        RequestError::Details => Some("details"),
        RequestError::Reason => Some("reason"),
        RequestError::TooMany | RequestError::Decided => None,
        RequestError::NoRequest | RequestError::Database(_) => return None,
    };
    Some(FormError {
        field: field.map(str::to_owned),
        message: e.to_string(),
    })
}

fn into_error(e: RequestError) -> Error {
    match e {
        RequestError::Database(e) => Error::Database(e),
        RequestError::NoRequest => coop_web::Error::NotFound.into(),
        other => coop_web::Error::BadRequest(other.to_string()).into(),
    }
}

/// `POST /requests`: ask for a product.
pub async fn create(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<RequestForm>,
) -> Result<Response, Error> {
    user.require(Role::Member)?;
    let who = Requester {
        member: me(&user)?,
        name: &user.name,
        email: user.email.as_deref(),
        lang: page.lang().code(),
    };
    match request::create(&state.kit.db, &who, &form.title, &form.details).await {
        Ok(_) => Ok(to(&state, "asked")),
        Err(e) => match refusal(&e) {
            Some(f) => render(&state, &page, &user, &form, &[f], None).await,
            None => Err(into_error(e)),
        },
    }
}

/// `POST /requests/{id}/vote`.
pub async fn vote(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, Error> {
    user.require(Role::Member)?;
    match request::vote(&state.kit.db, id, me(&user)?).await {
        Ok(_) => Ok(to(&state, "voted")),
        Err(e) => match refusal(&e) {
            Some(f) => render(&state, &page, &user, &RequestForm::default(), &[f], None).await,
            None => Err(into_error(e)),
        },
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// `POST /requests/{id}/decide`: accept, or decline with a reason; the member is mailed.
pub async fn decide(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<DecideForm>,
) -> Result<Response, Error> {
    user.require(Role::Manager)?;
    let accept = match form.decision.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return Err(coop_web::Error::BadRequest("accept or decline".into()).into()),
    };
    let d = match request::decide(&state.kit.db, id, accept, &form.reason, member_id(&user)).await {
        Ok(d) => d,
        Err(e) => {
            return match refusal(&e) {
                Some(f) => render(&state, &page, &user, &RequestForm::default(), &[f], None).await,
                None => Err(into_error(e)),
            }
        }
    };
    let mailed = tell(&state, &page, &d).await;
    Ok(to(&state, if mailed { "decided" } else { "unmailed" }))
}

/// Mails the member the answer in the language they asked in; `false` if it could not be sent
/// (the decision stands and the page shows it).
async fn tell(state: &AppState, page: &Page, d: &Decided) -> bool {
    let Some(to) = d
        .requester_email
        .as_deref()
        .and_then(|e| coop_domain::EmailAddress::parse(e).ok())
    else {
        return false;
    };
    let lang = Lang::parse(&d.requester_lang).unwrap_or(page.lang());
    let tr = page.kit.templates.translations();
    let key = if d.accepted {
        "ims-request-mail-accepted"
    } else {
        "ims-request-mail-declined"
    };
    let args = [
        ("title", FluentValue::from(d.title.as_str())),
        (
            "org",
            FluentValue::from(state.kit.coop.organisation.name.as_str()),
        ),
    ];
    let mut text = tr.format(lang, key, &args);
    if let Some(r) = &d.reason {
        text.push_str("\n\n");
        text.push_str(r);
    }
    text.push_str("\n\n");
    text.push_str(&state.kit.service.url("/requests"));
    let msg = coop_web::mail::OutgoingMail {
        to,
        to_name: d.requester_name.clone(),
        subject: tr.format(lang, "ims-request-mail-subject", &args),
        text,
        html: None,
        reply_to: None,
        attachments: Vec::new(),
    };
    match state.mailer.send(msg).await {
        Ok(coop_web::mail::Delivery::Sent) => true,
        Ok(coop_web::mail::Delivery::NotConfigured) => false,
        Err(e) => {
            tracing::warn!(error = %e, "the answer to a product request was not mailed");
            false
        }
    }
}
