//! The member directory's administration: roles, status and households here; invite and
//! password-reset links in `links`; what the admin pages and the member feed read in `reads`.
//!
//! Every change takes the member's row lock, writes its `audit_event` and, where the till's
//! member list cares, a `member_event` with the member as it now is, all in one transaction.

use crate::domain::AuditAction;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use coop_domain::MemberNumberFormat;
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{MemberStatus, Role};
use crate::members::{audit, member_event, MemberEvent};

mod links;
mod reads;

pub use links::{
    accept_invite, bootstrap_admin, find_link, invite, issue_reset, mark_sent_by_mail,
    note_reset_request, reissue_invite, reset_password, BootstrapError, Invitee, LinkHolder,
    LinkPurpose, RedeemError, INVITE_TTL, MAX_RESET_REQUESTS_PER_ADDRESS,
    MAX_RESET_REQUESTS_PER_CLIENT, RESET_REQUEST_WINDOW, RESET_TTL,
};
pub use reads::{audit_log, households, search_members, AuditRow, ListedMember};

/// Why an admin's (or a member's) change was not made. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no such member")]
    NotFound,
    #[error("no such household")]
    HouseholdNotFound,
    #[error("the change would lock the acting admin out")]
    SelfLockOut,
    #[error("members cannot appoint themselves")]
    SelfAppointment,
    #[error("the member's status does not allow this")]
    WrongStatus,
    #[error("the member already holds the role")]
    AlreadyHolds,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A member's number as printed on the card, or `None` if it does not fit the format.
pub fn format_number(format: &MemberNumberFormat, number: i32) -> Option<String> {
    u32::try_from(number)
        .ok()
        .and_then(|n| format.number(n).ok())
        .map(|n| n.to_string())
}

// ---------------------------------------------------------------------------------------------
// Shared pieces of every change

/// The member as the till's member list sees it: the feed payload of every member event.
async fn snapshot(
    tx: &mut Transaction<'_, Postgres>,
    format: &MemberNumberFormat,
    member_id: Uuid,
) -> Result<serde_json::Value, sqlx::Error> {
    let row = sqlx::query!(
        r#"select member_number, name, status as "status: MemberStatus", household_id,
                coalesce(array(select role from member_role r where r.member_id = m.member_id), '{}')
                    as "roles!: Vec<Role>"
         from member m where member_id = $1"#,
        member_id
    )
    .fetch_one(&mut **tx)
    .await?;
    let (number, name, status, household) =
        (row.member_number, row.name, row.status, row.household_id);
    let roles: BTreeSet<Role> = row.roles.into_iter().collect();
    Ok(json!({
        "sub": member_id,
        "member_number": format_number(format, number),
        "name": name,
        "status": status,
        "roles": roles,
        "household": household,
    }))
}

async fn publish(
    tx: &mut Transaction<'_, Postgres>,
    format: &MemberNumberFormat,
    kind: MemberEvent,
    member_id: Uuid,
) -> Result<(), sqlx::Error> {
    let payload = snapshot(tx, format, member_id).await?;
    member_event(tx, kind, member_id, payload).await
}

/// Locks the member's row for the rest of the transaction; returns its status.
async fn lock_member(
    tx: &mut Transaction<'_, Postgres>,
    member_id: Uuid,
) -> Result<Option<MemberStatus>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select status as "status: MemberStatus" from member where member_id = $1 for update"#,
        member_id
    )
    .fetch_optional(&mut **tx)
    .await
}

async fn roles_of(
    tx: &mut Transaction<'_, Postgres>,
    member_id: Uuid,
) -> Result<BTreeSet<Role>, sqlx::Error> {
    let roles = sqlx::query_scalar!(
        r#"select role as "role: Role" from member_role where member_id = $1"#,
        member_id
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(roles.into_iter().collect())
}

/// Signs the member out everywhere: every browser session and every token family.
async fn revoke_everything(
    tx: &mut Transaction<'_, Postgres>,
    member_id: Uuid,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    // The relying parties are told too (Back-Channel Logout), in this same transaction.
    crate::backchannel::enqueue(
        tx,
        crate::backchannel::Scope::Member(member_id),
        reason,
        now,
    )
    .await?;
    sqlx::query!(
        "update web_session set revoked_at = $2 where member_id = $1 and revoked_at is null",
        member_id,
        now
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
"update token_family set revoked_at = $2, revoke_reason = $3 where member_id = $1 and revoked_at is null",
member_id,
now,
reason
)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A member who gains their first role that needs a second factor signs in again, so no
/// session made with a password alone carries that role.
async fn gained_second_factor_role(
    tx: &mut Transaction<'_, Postgres>,
    member_id: Uuid,
    before: &BTreeSet<Role>,
    after: &BTreeSet<Role>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let had = before.iter().any(|r| r.requires_totp());
    let has = after.iter().any(|r| r.requires_totp());
    if has && !had {
        revoke_everything(tx, member_id, now, "role needs a second factor").await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Roles, status, household

/// Gives the member exactly `roles`. An admin cannot take their own admin role away.
pub async fn set_roles(
    db: &PgPool,
    format: &MemberNumberFormat,
    actor: Uuid,
    member_id: Uuid,
    roles: &BTreeSet<Role>,
    now: DateTime<Utc>,
) -> Result<(), ChangeError> {
    if actor == member_id && !roles.contains(&Role::Admin) {
        return Err(ChangeError::SelfLockOut);
    }
    let mut tx = db.begin().await?;
    if lock_member(&mut tx, member_id).await?.is_none() {
        return Err(ChangeError::NotFound);
    }
    let before = roles_of(&mut tx, member_id).await?;
    let added: Vec<Role> = roles.difference(&before).copied().collect();
    let removed: Vec<Role> = before.difference(roles).copied().collect();
    if added.is_empty() && removed.is_empty() {
        return Ok(());
    }
    for role in &removed {
        sqlx::query!(
            "delete from member_role where member_id = $1 and role = $2",
            member_id,
            role.as_str()
        )
        .execute(&mut *tx)
        .await?;
    }
    for role in &added {
        sqlx::query!(
"insert into member_role (member_id, role, granted_by, granted_at) values ($1, $2, $3, $4)",
member_id,
role.as_str(),
actor,
now
)
        .execute(&mut *tx)
        .await?;
    }
    gained_second_factor_role(&mut tx, member_id, &before, roles, now).await?;
    if !removed.is_empty() {
        // The relying parties' sessions still carry the removed role: they end, and the next
        // sign-in there (silent, through the session here) brings the roles as they are now.
        crate::backchannel::enqueue(
            &mut tx,
            crate::backchannel::Scope::Member(member_id),
            "role removed",
            now,
        )
        .await?;
    }
    audit(
        &mut tx,
        Some(actor),
        Some(member_id),
        AuditAction::MemberRolesChanged,
        json!({ "added": added, "removed": removed }),
    )
    .await?;
    publish(&mut tx, format, MemberEvent::Changed, member_id).await?;
    tx.commit().await?;
    Ok(())
}

/// What an admin can do to a member's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Suspend,
    Reactivate,
    Leave,
}

impl StatusChange {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "suspend" => Some(Self::Suspend),
            "reactivate" => Some(Self::Reactivate),
            "leave" => Some(Self::Leave),
            _ => None,
        }
    }

    /// Whether the change applies to a member in `status`.
    pub fn applies_to(self, status: MemberStatus) -> bool {
        use MemberStatus::{Active, Invited, Left, Suspended};
        match self {
            StatusChange::Suspend => matches!(status, Active | Invited),
            StatusChange::Leave => matches!(status, Active | Invited | Suspended),
            StatusChange::Reactivate => matches!(status, Suspended | Left),
        }
    }
}

/// Suspends, reactivates or marks a member as left; returns the new status. A suspended or
/// departed member is signed out everywhere and their pending links stop working. Admins
/// cannot do either to themselves.
/// `actor` is the admin; `None` is the operator at the command line.
pub async fn change_status(
    db: &PgPool,
    format: &MemberNumberFormat,
    actor: Option<Uuid>,
    member_id: Uuid,
    change: StatusChange,
    now: DateTime<Utc>,
) -> Result<MemberStatus, ChangeError> {
    if actor == Some(member_id) && change != StatusChange::Reactivate {
        return Err(ChangeError::SelfLockOut);
    }
    let mut tx = db.begin().await?;
    let Some(from) = lock_member(&mut tx, member_id).await? else {
        return Err(ChangeError::NotFound);
    };
    if !change.applies_to(from) {
        return Err(ChangeError::WrongStatus);
    }
    let to = match change {
        StatusChange::Suspend => MemberStatus::Suspended,
        StatusChange::Leave => MemberStatus::Left,
        StatusChange::Reactivate => {
            // Someone who never set a password comes back as invited (the schema insists).
            let has_password: bool = sqlx::query_scalar!(
                r#"select password_hash is not null as "has!" from member where member_id = $1"#,
                member_id
            )
            .fetch_one(&mut *tx)
            .await?;
            if has_password {
                MemberStatus::Active
            } else {
                MemberStatus::Invited
            }
        }
    };
    sqlx::query!(
        "update member set status = $2, updated_at = $3 where member_id = $1",
        member_id,
        to.as_str(),
        now
    )
    .execute(&mut *tx)
    .await?;
    if change != StatusChange::Reactivate {
        revoke_everything(&mut tx, member_id, now, &format!("member {}", to.as_str())).await?;
        links::spend_links(&mut tx, member_id, None, now).await?;
    }
    let action = match change {
        StatusChange::Suspend => AuditAction::MemberSuspended,
        StatusChange::Reactivate => AuditAction::MemberReactivated,
        StatusChange::Leave => AuditAction::MemberLeft,
    };
    audit(
        &mut tx,
        actor,
        Some(member_id),
        action,
        json!({ "from": from, "to": to.as_str() }),
    )
    .await?;
    let kind = if change == StatusChange::Suspend {
        MemberEvent::Suspended
    } else {
        MemberEvent::Changed
    };
    publish(&mut tx, format, kind, member_id).await?;
    tx.commit().await?;
    Ok(to)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HouseholdChoice {
    None,
    Existing(Uuid),
    /// A new household with this (already trimmed, non-empty) name.
    New(String),
}

pub async fn set_household(
    db: &PgPool,
    format: &MemberNumberFormat,
    actor: Uuid,
    member_id: Uuid,
    choice: HouseholdChoice,
    now: DateTime<Utc>,
) -> Result<(), ChangeError> {
    let mut tx = db.begin().await?;
    if lock_member(&mut tx, member_id).await?.is_none() {
        return Err(ChangeError::NotFound);
    }
    let before: Option<Uuid> = sqlx::query_scalar!(
        "select household_id from member where member_id = $1",
        member_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let (after, created) = match choice {
        HouseholdChoice::None => (None, None),
        HouseholdChoice::Existing(id) => {
            let exists: bool = sqlx::query_scalar!(
                r#"select exists (select 1 from household where household_id = $1) as "exists!""#,
                id
            )
            .fetch_one(&mut *tx)
            .await?;
            if !exists {
                return Err(ChangeError::HouseholdNotFound);
            }
            (Some(id), None)
        }
        HouseholdChoice::New(name) => {
            let id = Uuid::new_v4();
            sqlx::query!(
                "insert into household (household_id, name, created_at) values ($1, $2, $3)",
                id,
                &name,
                now
            )
            .execute(&mut *tx)
            .await?;
            (Some(id), Some(name))
        }
    };
    if before == after {
        return Ok(());
    }
    sqlx::query!(
        "update member set household_id = $2, updated_at = $3 where member_id = $1",
        member_id,
        after,
        now
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Some(actor),
        Some(member_id),
        AuditAction::MemberHouseholdChanged,
        json!({ "from": before, "to": after, "created": created }),
    )
    .await?;
    publish(&mut tx, format, MemberEvent::Changed, member_id).await?;
    tx.commit().await?;
    Ok(())
}

/// One member appoints another, by member number, as bookkeeper (the buyers-club rule).
/// Returns the appointed member's id and name.
/// What came of an appointment, as the appointer may learn it: nothing about other members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appointed {
    /// The member was asked to accept; their id and name (for the admins' mail only).
    Asked { member_id: Uuid, name: String },
    /// No such active member, already a bookkeeper, or already asked: the appointer is told the
    /// same as for `Asked`, so the page does not reveal whether a member number exists.
    Nothing,
}

/// A member (or an admin) appoints the member with `member_number` as bookkeeper. The role
/// takes effect only when the appointee accepts ([`decide_appointment`]).
pub async fn appoint_bookkeeper(
    db: &PgPool,
    actor: Uuid,
    member_number: i32,
    now: DateTime<Utc>,
) -> Result<Appointed, ChangeError> {
    let mut tx = db.begin().await?;
    let found = sqlx::query!(
        r#"select member_id, name, status as "status: MemberStatus" from member
           where member_number = $1 for update"#,
        member_number
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| (r.member_id, r.name, r.status));
    let Some((member_id, name, status)) = found else {
        return Ok(Appointed::Nothing);
    };
    if member_id == actor {
        return Err(ChangeError::SelfAppointment);
    }
    if status != MemberStatus::Active
        || roles_of(&mut tx, member_id)
            .await?
            .contains(&Role::Bookkeeper)
    {
        return Ok(Appointed::Nothing);
    }
    let inserted = sqlx::query!(
"insert into bookkeeper_appointment (bookkeeper_appointment_id, member_id, appointed_by, created_at)
         values ($1, $2, $3, $4) on conflict do nothing",
Uuid::new_v4(),
member_id,
actor,
now
)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Appointed::Nothing);
    }
    audit(
        &mut tx,
        Some(actor),
        Some(member_id),
        AuditAction::MemberBookkeeperAppointed,
        json!({ "awaits": "acceptance" }),
    )
    .await?;
    tx.commit().await?;
    Ok(Appointed::Asked { member_id, name })
}

/// An open appointment of a member, for their account page and the admins.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenAppointment {
    pub bookkeeper_appointment_id: Uuid,
    pub appointed_by: Uuid,
    pub appointed_by_name: String,
    pub created_at: DateTime<Utc>,
}

pub async fn open_appointment(
    db: &PgPool,
    member_id: Uuid,
) -> Result<Option<OpenAppointment>, sqlx::Error> {
    sqlx::query_as!(
        OpenAppointment,
        "select a.bookkeeper_appointment_id, a.appointed_by, m.name as appointed_by_name, a.created_at
         from bookkeeper_appointment a join member m on m.member_id = a.appointed_by
         where a.member_id = $1 and a.decided_at is null",
        member_id
    )
    .fetch_optional(db)
    .await
}

/// How an open appointment ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// By the appointee: the role takes effect (they sign in again, with a second factor).
    Accept,
    /// By the appointee.
    Decline,
    /// By an admin.
    Withdraw,
}

/// Ends the member's open appointment. `actor` is the appointee (accept, decline) or an admin
/// (withdraw); the caller checks who may do which.
pub async fn decide_appointment(
    db: &PgPool,
    format: &MemberNumberFormat,
    actor: Uuid,
    member_id: Uuid,
    decision: Decision,
    now: DateTime<Utc>,
) -> Result<(), ChangeError> {
    let mut tx = db.begin().await?;
    let Some(status) = lock_member(&mut tx, member_id).await? else {
        return Err(ChangeError::NotFound);
    };
    let open = sqlx::query!(
        "select bookkeeper_appointment_id, appointed_by from bookkeeper_appointment
         where member_id = $1 and decided_at is null for update",
        member_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| (r.bookkeeper_appointment_id, r.appointed_by));
    let Some((appointment, appointed_by)) = open else {
        return Err(ChangeError::NotFound);
    };
    let (outcome, action) = match decision {
        Decision::Accept => ("accepted", AuditAction::MemberBookkeeperAccepted),
        Decision::Decline => ("declined", AuditAction::MemberBookkeeperDeclined),
        Decision::Withdraw => ("withdrawn", AuditAction::MemberBookkeeperWithdrawn),
    };
    sqlx::query!(
        "update bookkeeper_appointment set decided_at = $2, outcome = $3, decided_by = $4
         where bookkeeper_appointment_id = $1",
        appointment,
        now,
        outcome,
        actor
    )
    .execute(&mut *tx)
    .await?;
    if decision == Decision::Accept {
        if status != MemberStatus::Active {
            return Err(ChangeError::WrongStatus);
        }
        let before = roles_of(&mut tx, member_id).await?;
        sqlx::query!(
"insert into member_role (member_id, role, granted_by, granted_at) values ($1, 'bookkeeper', $2, $3)
             on conflict do nothing",
member_id,
appointed_by,
now
)
        .execute(&mut *tx)
        .await?;
        let mut after = before.clone();
        after.insert(Role::Bookkeeper);
        gained_second_factor_role(&mut tx, member_id, &before, &after, now).await?;
        publish(&mut tx, format, MemberEvent::Changed, member_id).await?;
    }
    audit(
        &mut tx,
        Some(actor),
        Some(member_id),
        action,
        json!({ "appointed_by": appointed_by }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An admin resets a member's second factor: the member enrols a new one at their next sign-in,
/// and is signed out everywhere now (the old factor may be in someone else's hands).
pub async fn reset_second_factor(
    db: &PgPool,
    actor: Uuid,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), ChangeError> {
    let mut tx = db.begin().await?;
    if lock_member(&mut tx, member_id).await?.is_none() {
        return Err(ChangeError::NotFound);
    }
    let had: bool = sqlx::query_scalar!(
        r#"select totp_secret is not null as "had!" from member where member_id = $1"#,
        member_id
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "update member set totp_secret = null, totp_last_step = null, updated_at = $2
         where member_id = $1",
        member_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    revoke_everything(&mut tx, member_id, now, "second factor reset").await?;
    audit(
        &mut tx,
        Some(actor),
        Some(member_id),
        AuditAction::MemberTotpReset,
        json!({ "had_one": had }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_changes_apply_only_where_they_make_sense() {
        use StatusChange::{Leave, Reactivate, Suspend};
        assert!(
            Suspend.applies_to(MemberStatus::Active) && Suspend.applies_to(MemberStatus::Invited)
        );
        assert!(
            !Suspend.applies_to(MemberStatus::Suspended) && !Suspend.applies_to(MemberStatus::Left)
        );
        assert!(
            Reactivate.applies_to(MemberStatus::Suspended)
                && Reactivate.applies_to(MemberStatus::Left)
        );
        assert!(!Reactivate.applies_to(MemberStatus::Active));
        assert!(Leave.applies_to(MemberStatus::Suspended) && !Leave.applies_to(MemberStatus::Left));
        assert_eq!(StatusChange::parse("suspend"), Some(Suspend));
        assert_eq!(StatusChange::parse("delete"), None);
    }
}
