//! The member directory's writes. Every change writes its audit event and, where other services
//! care, its member-feed event in the same transaction.

use crate::domain::AuditAction;
use coop_domain::{EmailAddress, MemberNumberFormat};
use coop_web::ResultExt as _;
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{MemberStatus, Role};

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("a member with this email address already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub name: String,
    pub email: EmailAddress,
    pub preferred_lang: coop_web::Lang,
    pub roles: Vec<Role>,
    pub status: MemberStatus,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub member_id: Uuid,
    pub member_number: i32,
    pub name: String,
    pub email: String,
    pub preferred_lang: String,
    pub status: MemberStatus,
    pub household_id: Option<Uuid>,
}

pub async fn audit(
    tx: &mut Transaction<'_, Postgres>,
    actor: Option<Uuid>,
    subject: Option<Uuid>,
    action: AuditAction,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into audit_event (actor_id, subject_id, action, detail) values ($1, $2, $3, $4)",
        actor,
        subject,
        action.as_str(),
        detail
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The member feed's event kinds (`GET /api/feed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberEvent {
    Created,
    Changed,
    Suspended,
}

impl coop_web::feed::EventKind for MemberEvent {
    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "member.created",
            Self::Changed => "member.changed",
            Self::Suspended => "member.suspended",
        }
    }
}

/// Publishes the member's whole state on the feed, keyed by the member's id.
pub async fn member_event(
    tx: &mut Transaction<'_, Postgres>,
    kind: MemberEvent,
    member_id: Uuid,
    payload: serde_json::Value,
) -> Result<(), sqlx::Error> {
    coop_web::feed::publish(tx, kind, Some(&member_id.to_string()), &payload).await?;
    Ok(())
}

/// What the password sign-in needs of the member with `email`: id, password hash, status.
pub async fn credentials_by_email(
    db: &PgPool,
    email: &str,
) -> Result<Option<(Uuid, Option<String>, MemberStatus)>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"select member_id, password_hash, status as "status: MemberStatus" from member where email = $1"#,
        email
    )
    .fetch_optional(db)
    .await?
    .map(|r| (r.member_id, r.password_hash, r.status)))
}

/// The member's stored (sealed) TOTP secret and the last time step used.
pub async fn totp_state(
    db: &PgPool,
    member_id: Uuid,
) -> Result<(Option<Vec<u8>>, Option<i64>), sqlx::Error> {
    let row = sqlx::query!(
        "select totp_secret, totp_last_step from member where member_id = $1",
        member_id
    )
    .fetch_one(db)
    .await?;
    Ok((row.totp_secret, row.totp_last_step))
}

/// Records `step` as used (and stores a new sealed secret when enrolling) only if it is newer
/// than the last step used and the member is active: no replay, even racing. Whether it was.
pub async fn accept_totp_step(
    db: &PgPool,
    member_id: Uuid,
    step: i64,
    new_sealed_secret: Option<Vec<u8>>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update member set totp_last_step = $2, totp_secret = coalesce($3, totp_secret)
         where member_id = $1 and status = 'active' and (totp_last_step is null or totp_last_step < $2)",
        member_id,
        step,
        new_sealed_secret
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every active admin: name, address and language, to tell them of something.
pub async fn active_admins(db: &PgPool) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    Ok(sqlx::query!(
        "select m.name, m.email, m.preferred_lang from member m
         join member_role r on r.member_id = m.member_id and r.role = 'admin'
         where m.status = 'active'",
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.name, r.email, r.preferred_lang))
    .collect())
}

/// Creates a member with the next member number.
pub async fn create(
    pool: &PgPool,
    format: &MemberNumberFormat,
    new: NewMember,
    actor: Option<Uuid>,
) -> Result<MemberRow, MemberError> {
    let mut tx = pool.begin().await?;
    let member_id = Uuid::new_v4();
    let username: String = sqlx::query_scalar!(
        r#"select c.candidate as "candidate!" from (
            select $1 as candidate, 1 as n
            union all select $1 || g, g from generate_series(2, 10000) g
         ) c where not exists (select 1 from member where username = c.candidate)
         order by c.n limit 1"#,
        username_base(&new.name)
    )
    .fetch_one(&mut *tx)
    .await?;
    let row: MemberRow = sqlx::query_as!(
MemberRow,
"insert into member (member_id, member_number, name, username, email, preferred_lang, status, password_hash)
         values ($1, nextval('member_number_seq'), $2, $7, $3, $4, $5, $6)
         returning member_id, member_number, name, email, preferred_lang, status as \"status: MemberStatus\", household_id",
member_id,
new.name.trim(),
new.email.as_str(),
new.preferred_lang.code(),
new.status.as_str(),
new.password_hash.as_deref(),
&username
)
    .fetch_one(&mut *tx)
    .await
    .on_constraint("member_email_key", || MemberError::EmailTaken)?;
    for role in &new.roles {
        sqlx::query!(
            "insert into member_role (member_id, role, granted_by) values ($1, $2, $3)",
            member_id,
            role.as_str(),
            actor
        )
        .execute(&mut *tx)
        .await?;
    }
    let number = u32::try_from(row.member_number)
        .ok()
        .and_then(|n| format.number(n).ok())
        .map(|n| n.to_string());
    audit(
        &mut tx,
        actor,
        Some(member_id),
        AuditAction::MemberCreate,
        json!({ "roles": new.roles, "status": new.status.as_str() }),
    )
    .await?;
    member_event(
        &mut tx,
        MemberEvent::Created,
        member_id,
        json!({ "sub": member_id, "member_number": number, "name": row.name, "status": row.status,
                "roles": new.roles }),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn find_by_email(
    pool: &PgPool,
    email: &EmailAddress,
) -> Result<Option<MemberRow>, sqlx::Error> {
    sqlx::query_as!(
        MemberRow,
        r#"select member_id, member_number, name, email, preferred_lang,
                status as "status: MemberStatus", household_id
         from member where email = $1"#,
        email.as_str()
    )
    .fetch_optional(pool)
    .await
}

pub async fn set_password(
    pool: &PgPool,
    member_id: Uuid,
    password_hash: &str,
    actor: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "update member set password_hash = $2, updated_at = now() where member_id = $1",
        member_id,
        password_hash
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        actor,
        Some(member_id),
        AuditAction::MemberPasswordSet,
        json!({}),
    )
    .await?;
    tx.commit().await
}

/// A Matrix-friendly username from a name: `Åsa Öberg` -> `asa.oberg`.
pub fn username_base(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().to_lowercase().chars() {
        let mapped: &str = match c {
            'å' | 'ä' | 'à' | 'á' | 'â' | 'ã' => "a",
            'ö' | 'ø' | 'ó' | 'ò' | 'ô' | 'õ' => "o",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'ü' | 'ú' | 'ù' | 'û' => "u",
            'í' | 'ì' | 'î' | 'ï' => "i",
            'æ' => "ae",
            'ß' => "ss",
            'ç' => "c",
            'ñ' => "n",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => ".",
        };
        if mapped == "." && (out.is_empty() || out.ends_with('.')) {
            continue;
        }
        out.push_str(mapped);
    }
    let out: String = out.trim_matches('.').chars().take(24).collect();
    let out = out.trim_end_matches('.').to_owned();
    if out.is_empty() {
        "member".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::username_base;

    #[test]
    fn usernames_are_matrix_localparts() {
        assert_eq!(username_base("Åsa Öberg"), "asa.oberg");
        assert_eq!(username_base("  Bo  Berg-Lind "), "bo.berg.lind");
        assert_eq!(username_base("李"), "member");
        assert_eq!(
            username_base("Anna-Karin Sjöström Æbelø"),
            "anna.karin.sjostrom.aebe"
        );
    }
}
