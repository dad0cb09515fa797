//! The member-directory administration (admins only), and the page where members appoint a
//! bookkeeper. Every page works without JavaScript; every change is a CSRF-checked form post.

mod appoint;
mod audit;
mod invite;
mod members;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use coop_web::Page;

use crate::domain::{MemberStatus, Role};
use crate::signin::{self, SignedIn};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/members", get(members::list))
        .route(
            "/admin/members/invite",
            get(invite::form).post(invite::submit),
        )
        .route("/admin/members/{id}", get(members::detail))
        .route("/admin/members/{id}/roles", post(members::roles))
        .route("/admin/members/{id}/status", post(members::status))
        .route("/admin/members/{id}/household", post(members::household))
        .route("/admin/members/{id}/invite", post(invite::resend))
        .route(
            "/admin/members/{id}/appointment/withdraw",
            post(members::withdraw_appointment),
        )
        .route("/admin/members/{id}/totp/reset", post(members::reset_totp))
        .route("/admin/audit", get(audit::log))
        .route(
            "/members/appoint-bookkeeper",
            get(appoint::form).post(appoint::submit),
        )
}

/// A signed-in admin: anyone else is sent to sign in, or gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub SignedIn);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let me = SignedIn::from_request_parts(parts, state).await?;
        signin::require(&me, Role::Admin).map_err(IntoResponse::into_response)?;
        Ok(Admin(me))
    }
}

async fn home(_: Admin) -> Redirect {
    Redirect::to("/admin/members")
}

/// Where the list pages are: 1-based page numbers from the query string, bounded.
#[derive(Debug, Clone, Copy)]
struct Paging {
    page: u32,
    per_page: u32,
}

impl Paging {
    fn new(page: Option<u32>, per_page: u32) -> Self {
        Self {
            page: page.unwrap_or(1).clamp(1, 100_000),
            per_page,
        }
    }

    /// One row more than a page, to know whether there is a next page.
    fn limit(self) -> i64 {
        i64::from(self.per_page) + 1
    }

    fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    /// Trims the extra row; the template data for the page links, built by `link(page)`.
    fn finish<T>(self, rows: &mut Vec<T>, link: impl Fn(u32) -> String) -> serde_json::Value {
        let has_next = rows.len() > self.per_page as usize;
        rows.truncate(self.per_page as usize);
        serde_json::json!({
            "page": self.page,
            "previous": (self.page > 1).then(|| link(self.page - 1)),
            "next": has_next.then(|| link(self.page + 1)),
        })
    }
}

/// The message id of a member status, for the templates.
fn status_key(status: MemberStatus) -> String {
    format!("admin-status-{}", status.as_str())
}

/// A one-shot notice shown on the next page, by message id.
const NOTICE_KEY: &str = "sso_admin_notice";

fn take_notice(page: &Page) -> Option<String> {
    let notice = page.session.get::<String>(NOTICE_KEY);
    if notice.is_some() {
        page.session.remove(NOTICE_KEY);
    }
    notice
}

fn set_notice(page: &Page, id: &str) {
    page.session.insert(NOTICE_KEY, &id);
}

/// Roles from form pairs `role=<name>`; `None` if any name is not a role.
fn roles_from_form(pairs: &[(String, String)]) -> Option<std::collections::BTreeSet<Role>> {
    pairs
        .iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| v.parse::<Role>().ok())
        .collect()
}

fn form_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The role checkboxes of a form, in the roles' order.
fn role_choices(checked: &std::collections::BTreeSet<Role>) -> Vec<serde_json::Value> {
    Role::ALL
        .iter()
        .map(|r| serde_json::json!({ "value": r.as_str(), "checked": checked.contains(r) }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_is_bounded_and_knows_its_neighbours() {
        let p = Paging::new(Some(0), 2);
        assert_eq!((p.page, p.limit(), p.offset()), (1, 3, 0));
        let mut rows = vec![1, 2, 3];
        let links = p.finish(&mut rows, |n| format!("?page={n}"));
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(links["next"], "?page=2");
        assert!(links["previous"].is_null());
        let p = Paging::new(Some(3), 2);
        let mut rows = vec![5];
        let links = p.finish(&mut rows, |n| format!("?page={n}"));
        assert_eq!(p.offset(), 4);
        assert_eq!(links["previous"], "?page=2");
        assert!(links["next"].is_null());
    }

    #[test]
    fn roles_from_a_form_must_all_be_roles() {
        let pairs = |v: &[&str]| {
            v.iter()
                .map(|r| ("role".to_owned(), (*r).to_owned()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            roles_from_form(&pairs(&["member", "admin"])),
            Some([Role::Member, Role::Admin].into_iter().collect())
        );
        assert_eq!(
            roles_from_form(&pairs(&[])),
            Some(std::collections::BTreeSet::new())
        );
        assert_eq!(roles_from_form(&pairs(&["member", "root"])), None);
    }
}
