//! What the admin pages and the member feed read.

use chrono::{DateTime, Utc};
use coop_domain::MemberNumberFormat;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{AuditAction, MemberStatus, Role};

#[derive(Debug, Clone, Serialize)]
pub struct ListedMember {
    pub member_id: Uuid,
    pub member_number: i32,
    pub name: String,
    pub email: String,
    pub status: MemberStatus,
    pub roles: Vec<Role>,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Members whose name or email contains `q`, or whose member number it is; by member number.
/// Returns up to `limit` rows after skipping `offset`.
pub async fn search_members(
    db: &PgPool,
    format: &MemberNumberFormat,
    q: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<ListedMember>, sqlx::Error> {
    let q = q.trim();
    let number: Option<i32> = format
        .parse(q)
        .ok()
        .map(|n| n.value())
        .or_else(|| q.parse::<u32>().ok())
        .and_then(|n| i32::try_from(n).ok());
    sqlx::query_as!(
        ListedMember,
        r#"select m.member_id, m.member_number, m.name, m.email, m.status as "status: MemberStatus",
                coalesce(array(select role from member_role r where r.member_id = m.member_id order by role), '{}')
                    as "roles!: Vec<Role>"
         from member m
         where $1 = '' or m.name ilike $2 or m.email ilike $2 or m.member_number = $3
         order by m.member_number
         limit $4 offset $5"#,
        q,
        like_pattern(q),
        number,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub audit_event_id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub subject_id: Option<Uuid>,
    pub subject_name: Option<String>,
    pub action: AuditAction,
    pub detail: serde_json::Value,
}

/// The audit log, newest first; only about `subject` if given.
pub async fn audit_log(
    db: &PgPool,
    subject: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as!(
        AuditRow,
        r#"select e.audit_event_id, e.occurred_at, e.actor_id, a.name as "actor_name?", e.subject_id,
                s.name as "subject_name?", e.action as "action: AuditAction", e.detail
         from audit_event e
         left join member a on a.member_id = e.actor_id
         left join member s on s.member_id = e.subject_id
         where $1::uuid is null or e.subject_id = $1
         order by e.audit_event_id desc
         limit $2 offset $3"#,
        subject,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

pub async fn households(db: &PgPool) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    Ok(
        sqlx::query!("select household_id, name from household order by lower(name), household_id")
            .fetch_all(db)
            .await?
            .into_iter()
            .map(|r| (r.household_id, r.name))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(like_pattern("ann"), "%ann%");
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
