//! The audit log: who changed what about whom, and when, newest first.

use crate::domain::AuditAction;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use coop_web::Page;
use serde::Deserialize;
use serde_json::json;

use super::{Admin, Paging};
use crate::directory::{self, AuditRow};
use crate::state::AppState;
use crate::Result;

const PER_PAGE: u32 = 50;

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    page: Option<u32>,
}

pub async fn log(
    page: Page,
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<LogQuery>,
) -> Result<Response> {
    let paging = Paging::new(query.page, PER_PAGE);
    let mut rows = directory::audit_log(state.db(), None, paging.limit(), paging.offset()).await?;
    let pages = paging.finish(&mut rows, |n| format!("/admin/audit?page={n}"));
    let html = page.render(
        "admin_audit.html",
        &json!({ "events": view(&page, &rows), "pages": pages, "nav": "audit" }),
    )?;
    Ok(html.into_response())
}

/// The message that names an action: `admin-audit-member-totp_reset`.
pub fn message_key(action: AuditAction) -> String {
    format!("admin-audit-{}", action.as_str().replace('.', "-"))
}

/// Audit rows as the templates show them. Actions this service does not name (written by a
/// newer version, say) are shown as recorded.
pub fn view(page: &Page, rows: &[AuditRow]) -> Vec<serde_json::Value> {
    let translations = page.kit.templates.translations();
    rows.iter()
        .map(|r| {
            let key = message_key(r.action);
            let what = if translations.has(page.lang(), &key) {
                page.t(&key)
            } else {
                r.action.as_str().to_owned()
            };
            let detail = match &r.detail {
                serde_json::Value::Object(m) if m.is_empty() => String::new(),
                other => other.to_string(),
            };
            json!({
                "id": r.audit_event_id,
                "when": r.occurred_at,
                "actor": r.actor_name,
                "actor_url": r.actor_id.map(|id| format!("/admin/members/{id}")),
                "subject": r.subject_name,
                "subject_url": r.subject_id.map(|id| format!("/admin/members/{id}")),
                "what": what,
                "detail": detail,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::domain::AuditAction;

    #[test]
    fn every_action_is_named_in_every_language() {
        for (lang, ftl) in [
            ("en", include_str!("../../../locales/en/admin.ftl")),
            ("sv", include_str!("../../../locales/sv/admin.ftl")),
        ] {
            for action in AuditAction::ALL {
                let key = super::message_key(action);
                assert!(
                    ftl.lines().any(|l| l.starts_with(&format!("{key} ="))),
                    "{key} is missing from {lang}"
                );
            }
        }
    }
}
