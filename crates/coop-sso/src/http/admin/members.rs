//! The member list with search, a member's page, and the changes made from it: roles, status
//! and household.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use coop_web::{CsrfForm, Page};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    form_value, role_choices, roles_from_form, set_notice, status_key, take_notice, Admin, Paging,
};
use crate::directory::{self, ChangeError, HouseholdChoice, StatusChange};
use crate::domain::{MemberStatus, Role};
use crate::http::forms::FormErrors;
use crate::signin::{self, SignedIn};
use crate::state::AppState;
use crate::Result;

const PER_PAGE: u32 = 25;
const MAX_QUERY_CHARS: usize = 200;
const RECENT_CHANGES: i64 = 20;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<u32>,
}

pub async fn list(
    page: Page,
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    let q: String = query
        .q
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_QUERY_CHARS)
        .collect();
    let paging = Paging::new(query.page, PER_PAGE);
    let format = &state.kit.coop.member_number;
    let mut rows =
        directory::search_members(state.db(), format, &q, paging.limit(), paging.offset()).await?;
    let pages = paging.finish(&mut rows, |n| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if !q.is_empty() {
            s.append_pair("q", &q);
        }
        format!(
            "/admin/members?{}",
            s.append_pair("page", &n.to_string()).finish()
        )
    });
    let members: Vec<serde_json::Value> = rows
        .iter()
        .map(|m| {
            json!({
                "url": format!("/admin/members/{}", m.member_id),
                "number": directory::format_number(format, m.member_number),
                "name": m.name,
                "email": m.email,
                "status_key": status_key(m.status),
                "roles": m.roles.iter().copied().collect::<std::collections::BTreeSet<Role>>(),
            })
        })
        .collect();
    let html = page.render(
        "admin_members.html",
        &json!({ "q": q, "members": members, "pages": pages, "nav": "members" }),
    )?;
    Ok(html.into_response())
}

pub async fn detail(
    page: Page,
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<Uuid>,
) -> Result<Response> {
    render_detail(
        &page,
        &state,
        &me,
        id,
        &FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render_detail(
    page: &Page,
    state: &AppState,
    me: &SignedIn,
    id: Uuid,
    errors: &FormErrors,
    status: StatusCode,
) -> Result<Response> {
    let Some(member) = signin::load_member(state.db(), id).await? else {
        return Err(coop_web::Error::NotFound.into());
    };
    let is_self = member.member_id == me.member.member_id;
    let households: Vec<serde_json::Value> = directory::households(state.db())
        .await?
        .into_iter()
        .map(|(hid, name)| json!({ "id": hid, "name": name, "selected": member.household_id == Some(hid) }))
        .collect();
    let status_actions: Vec<serde_json::Value> = [
        (StatusChange::Suspend, "suspend", "admin-status-suspend"),
        (
            StatusChange::Reactivate,
            "reactivate",
            "admin-status-reactivate",
        ),
        (StatusChange::Leave, "leave", "admin-status-leave"),
    ]
    .into_iter()
    .filter(|(change, _, _)| {
        change.applies_to(member.status) && (!is_self || *change == StatusChange::Reactivate)
    })
    .map(|(_, value, label)| json!({ "value": value, "label_key": label }))
    .collect();
    let recent = directory::audit_log(state.db(), Some(id), RECENT_CHANGES, 0).await?;
    let appointment = directory::open_appointment(state.db(), id).await?;
    let data = errors.with(json!({
        "appointment": appointment,
        "member": member,
        "number": directory::format_number(&state.kit.coop.member_number, member.member_number),
        "status_key": status_key(member.status),
        "is_self": is_self,
        "roles": role_choices(&member.roles),
        "households": households,
        "status_actions": status_actions,
        "invited": member.status == MemberStatus::Invited,
        "events": super::audit::view(page, &recent),
        // A notice belongs to the page after a saved change, not to a refusal.
        "notice": if status == StatusCode::OK { take_notice(page) } else { None },
        "nav": "members",
    }));
    Ok((status, page.render("admin_member.html", &data)?).into_response())
}

/// `POST /admin/members/{id}/appointment/withdraw`: an admin withdraws an open appointment.
pub async fn withdraw_appointment(
    page: Page,
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<crate::http::forms::Empty>,
) -> Result<Response> {
    let done = directory::decide_appointment(
        state.db(),
        &state.kit.coop.member_number,
        me.member.member_id,
        id,
        directory::Decision::Withdraw,
        state.now(),
    )
    .await;
    back_to_member(&page, id, done, "admin-appointment-withdrawn")
}

/// `POST /admin/members/{id}/totp/reset`: the member enrols a new second factor and is signed
/// out everywhere.
pub async fn reset_totp(
    page: Page,
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<Uuid>,
    CsrfForm(_): CsrfForm<crate::http::forms::Empty>,
) -> Result<Response> {
    let done =
        directory::reset_second_factor(state.db(), me.member.member_id, id, state.now()).await;
    back_to_member(&page, id, done, "admin-totp-reset-done")
}

/// The member's page again with `notice` after a change, or the change's refusal.
fn back_to_member(
    page: &Page,
    id: Uuid,
    done: std::result::Result<(), ChangeError>,
    notice: &str,
) -> Result<Response> {
    match done {
        Ok(()) => {
            set_notice(page, notice);
            Ok(Redirect::to(&format!("/admin/members/{id}")).into_response())
        }
        Err(ChangeError::NotFound) => Err(coop_web::Error::NotFound.into()),
        Err(ChangeError::Database(e)) => Err(e.into()),
        Err(other) => Err(anyhow::anyhow!(other).into()),
    }
}

/// After a change: back to the member's page, which says it was saved.
fn saved(page: &Page, id: Uuid) -> Response {
    set_notice(page, "admin-notice-saved");
    Redirect::to(&format!("/admin/members/{id}")).into_response()
}

/// A refused change: the member's page again, saying why; nothing was written.
pub(super) async fn refused(
    page: &Page,
    state: &AppState,
    me: &SignedIn,
    id: Uuid,
    field: &'static str,
    message_id: &str,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    errors.field(field, page.t(message_id));
    render_detail(
        page,
        state,
        me,
        id,
        &errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

fn unexpected(e: ChangeError) -> crate::Error {
    match e {
        ChangeError::Database(e) => e.into(),
        ChangeError::NotFound => coop_web::Error::NotFound.into(),
        other => anyhow::anyhow!(other).into(),
    }
}

pub async fn roles(
    page: Page,
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<Uuid>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response> {
    let Some(roles) = roles_from_form(&pairs) else {
        return refused(&page, &state, &me, id, "roles", "admin-error-roles").await;
    };
    let format = &state.kit.coop.member_number;
    match directory::set_roles(
        state.db(),
        format,
        me.member.member_id,
        id,
        &roles,
        state.now(),
    )
    .await
    {
        Ok(()) => Ok(saved(&page, id)),
        Err(ChangeError::SelfLockOut) => {
            refused(&page, &state, &me, id, "roles", "admin-error-self-admin").await
        }
        Err(e) => Err(unexpected(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    action: String,
}

pub async fn status(
    page: Page,
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<Response> {
    let Some(change) = StatusChange::parse(&form.action) else {
        return refused(&page, &state, &me, id, "status", "admin-error-status").await;
    };
    let format = &state.kit.coop.member_number;
    match directory::change_status(
        state.db(),
        format,
        Some(me.member.member_id),
        id,
        change,
        state.now(),
    )
    .await
    {
        Ok(_) => Ok(saved(&page, id)),
        Err(ChangeError::SelfLockOut) => {
            refused(&page, &state, &me, id, "status", "admin-error-self-status").await
        }
        Err(ChangeError::WrongStatus) => {
            refused(&page, &state, &me, id, "status", "admin-error-status").await
        }
        Err(e) => Err(unexpected(e)),
    }
}

pub async fn household(
    page: Page,
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<Uuid>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response> {
    let new_name = form_value(&pairs, "new_household")
        .map(str::trim)
        .unwrap_or_default();
    let choice = if new_name.is_empty() {
        match form_value(&pairs, "household_id")
            .map(str::trim)
            .unwrap_or_default()
        {
            "" => HouseholdChoice::None,
            other => match Uuid::parse_str(other) {
                Ok(hid) => HouseholdChoice::Existing(hid),
                Err(_) => {
                    return refused(
                        &page,
                        &state,
                        &me,
                        id,
                        "household_id",
                        "admin-error-household",
                    )
                    .await
                }
            },
        }
    } else if new_name.chars().count() > 200 {
        return refused(
            &page,
            &state,
            &me,
            id,
            "new_household",
            "admin-error-household-name",
        )
        .await;
    } else {
        HouseholdChoice::New(new_name.to_owned())
    };
    let format = &state.kit.coop.member_number;
    match directory::set_household(
        state.db(),
        format,
        me.member.member_id,
        id,
        choice,
        state.now(),
    )
    .await
    {
        Ok(()) => Ok(saved(&page, id)),
        Err(ChangeError::HouseholdNotFound) => {
            refused(
                &page,
                &state,
                &me,
                id,
                "household_id",
                "admin-error-household",
            )
            .await
        }
        Err(e) => Err(unexpected(e)),
    }
}
