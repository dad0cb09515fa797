//! One-time links: invitations (7 days) and password resets (1 hour). Only a hash of a token
//! is stored; using a link spends every other link of its kind for that member.

use crate::domain::AuditAction;
use chrono::{DateTime, Duration, Utc};
use coop_domain::{EmailAddress, MemberNumberFormat};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{lock_member, publish, revoke_everything, ChangeError};
use crate::domain::{MemberStatus, Role};
use crate::members::{self, audit, MemberError, NewMember};

pub const INVITE_TTL: Duration = Duration::days(7);
pub const RESET_TTL: Duration = Duration::hours(1);

/// "Forgot password" requests allowed per address and per client within the window.
pub const RESET_REQUEST_WINDOW: Duration = Duration::hours(1);
pub const MAX_RESET_REQUESTS_PER_ADDRESS: i64 = 3;
pub const MAX_RESET_REQUESTS_PER_CLIENT: i64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Invite,
    Reset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }

    /// The member status a link of this kind can be used in.
    fn status(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invited",
            LinkPurpose::Reset => "active",
        }
    }
}

/// A link that is unknown, used, expired, or for a member no longer in the right status.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("the link is not valid")]
    Invalid,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(
        "an active admin already exists; further admins are invited from /admin/members/invite"
    )]
    ActiveAdminExists,
    #[error("{0} is already a member (status {status}); choose another address", status = .1.as_str())]
    EmailTaken(String, MemberStatus),
    #[error(transparent)]
    Member(#[from] MemberError),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Issues a link; only the token's hash is stored. Returns the token for the URL.
async fn new_link(
    tx: &mut Transaction<'_, Postgres>,
    member_id: Uuid,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let token = crate::secrets::new_token();
    let ttl = match purpose {
        LinkPurpose::Invite => INVITE_TTL,
        LinkPurpose::Reset => RESET_TTL,
    };
    sqlx::query!(
"insert into login_link (token_hash, member_id, purpose, created_at, expires_at) values ($1, $2, $3, $4, $5)",
crate::secrets::hash(&token),
member_id,
purpose.as_str(),
now,
now + ttl
)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

pub(super) async fn spend_links(
    tx: &mut Transaction<'_, Postgres>,
    member_id: Uuid,
    purpose: Option<LinkPurpose>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update login_link set used_at = $3
         where member_id = $1 and ($2::text is null or purpose = $2) and used_at is null",
        member_id,
        purpose.map(LinkPurpose::as_str),
        now
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Remembers that the link went out by mail (so using it proves the address).
pub async fn mark_sent_by_mail(db: &PgPool, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update login_link set sent_by_mail = true where token_hash = $1",
        crate::secrets::hash(token)
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Who a valid link is for.
#[derive(Debug, Clone, Serialize)]
pub struct LinkHolder {
    pub member_id: Uuid,
    pub member_number: i32,
    pub name: String,
    pub email: String,
    pub preferred_lang: String,
}

/// The member a still valid, unused link of `purpose` belongs to.
pub async fn find_link(
    db: &PgPool,
    token: &str,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> Result<Option<LinkHolder>, sqlx::Error> {
    sqlx::query_as!(
        LinkHolder,
        "select m.member_id, m.member_number, m.name, m.email, m.preferred_lang
         from login_link l join member m using (member_id)
         where l.token_hash = $1 and l.purpose = $2 and l.used_at is null and l.expires_at > $3 and m.status = $4",
        crate::secrets::hash(token),
        purpose.as_str(),
        now,
        purpose.status()
    )
    .fetch_optional(db)
    .await
}

/// Takes a valid link for good, locking it and its member; `None` if it is not valid (any more).
async fn take_link(
    tx: &mut Transaction<'_, Postgres>,
    token: &str,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> Result<Option<(Uuid, bool)>, sqlx::Error> {
    let found = sqlx::query!(
        "select l.member_id, l.sent_by_mail
         from login_link l join member m using (member_id)
         where l.token_hash = $1 and l.purpose = $2 and l.used_at is null and l.expires_at > $3 and m.status = $4
         for update of l, m",
        crate::secrets::hash(token),
        purpose.as_str(),
        now,
        purpose.status()
    )
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| (r.member_id, r.sent_by_mail));
    if let Some((member_id, _)) = found {
        spend_links(tx, member_id, Some(purpose), now).await?;
    }
    Ok(found)
}

/// Who is being invited.
#[derive(Debug, Clone)]
pub struct Invitee {
    pub name: String,
    pub email: EmailAddress,
    pub lang: coop_web::Lang,
    pub roles: Vec<Role>,
}

/// Invites a member: an invited member with the next member number, and an invite link.
pub async fn invite(
    db: &PgPool,
    format: &MemberNumberFormat,
    invitee: Invitee,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(members::MemberRow, String), MemberError> {
    let new = NewMember {
        name: invitee.name,
        email: invitee.email,
        preferred_lang: invitee.lang,
        roles: invitee.roles,
        status: MemberStatus::Invited,
        password_hash: None,
    };
    // A refused insert would still use up a member number (sequences do not roll back), and
    // cards are printed with them: ask first. The unique constraint still settles races.
    let taken: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from member where email = $1) as "taken!""#,
        new.email.as_str()
    )
    .fetch_one(db)
    .await?;
    if taken {
        return Err(MemberError::EmailTaken);
    }
    // `members::create` commits on its own; if the link below failed, the member would stay
    // invited without a link, and "send the invitation again" on their page makes one.
    let row = members::create(db, format, new, actor).await?;
    let mut tx = db.begin().await?;
    let token = new_link(&mut tx, row.member_id, LinkPurpose::Invite, now).await?;
    audit(
        &mut tx,
        actor,
        Some(row.member_id),
        AuditAction::MemberInviteIssued,
        json!({ "expires_at": now + INVITE_TTL }),
    )
    .await?;
    tx.commit().await?;
    Ok((row, token))
}

/// A new invite link for a member who has not accepted yet; older invite links stop working.
pub async fn reissue_invite(
    db: &PgPool,
    actor: Option<Uuid>,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(LinkHolder, String), ChangeError> {
    let mut tx = db.begin().await?;
    match lock_member(&mut tx, member_id).await? {
        None => return Err(ChangeError::NotFound),
        Some(MemberStatus::Invited) => {}
        Some(_) => return Err(ChangeError::WrongStatus),
    }
    spend_links(&mut tx, member_id, Some(LinkPurpose::Invite), now).await?;
    let token = new_link(&mut tx, member_id, LinkPurpose::Invite, now).await?;
    audit(
        &mut tx,
        actor,
        Some(member_id),
        AuditAction::MemberInviteIssued,
        json!({ "expires_at": now + INVITE_TTL, "again": true }),
    )
    .await?;
    let holder: LinkHolder = sqlx::query_as!(
LinkHolder,
"select member_id, member_number, name, email, preferred_lang from member where member_id = $1",
member_id
)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((holder, token))
}

/// The invited member sets a password and becomes active.
pub async fn accept_invite(
    db: &PgPool,
    format: &MemberNumberFormat,
    token: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, RedeemError> {
    let mut tx = db.begin().await?;
    let Some((member_id, sent_by_mail)) =
        take_link(&mut tx, token, LinkPurpose::Invite, now).await?
    else {
        return Err(RedeemError::Invalid);
    };
    sqlx::query!(
"update member set password_hash = $2, status = 'active', email_verified = email_verified or $3,
                updated_at = $4
         where member_id = $1",
member_id,
password_hash,
sent_by_mail,
now
)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Some(member_id),
        Some(member_id),
        AuditAction::MemberInviteAccepted,
        json!({}),
    )
    .await?;
    publish(
        &mut tx,
        format,
        crate::members::MemberEvent::Changed,
        member_id,
    )
    .await?;
    tx.commit().await?;
    Ok(member_id)
}

/// Sets a new password from a reset link and signs the member out everywhere.
pub async fn reset_password(
    db: &PgPool,
    token: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, RedeemError> {
    let mut tx = db.begin().await?;
    let Some((member_id, _)) = take_link(&mut tx, token, LinkPurpose::Reset, now).await? else {
        return Err(RedeemError::Invalid);
    };
    // Reset links only ever go out by mail: using one proves the address.
    sqlx::query!(
"update member set password_hash = $2, email_verified = true, updated_at = $3 where member_id = $1",
member_id,
password_hash,
now
)
    .execute(&mut *tx)
    .await?;
    revoke_everything(&mut tx, member_id, now, "password reset").await?;
    audit(
        &mut tx,
        Some(member_id),
        Some(member_id),
        AuditAction::MemberPasswordReset,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(member_id)
}

/// Counts a "forgot password" request against the address's and the client's allowance;
/// `false` when either is used up (the request is then not counted).
pub async fn note_reset_request(
    db: &PgPool,
    email: &str,
    client: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let since = now - RESET_REQUEST_WINDOW;
    let counts = sqlx::query!(
        r#"select
            (select count(*) from password_reset_request where email = $1 and requested_at > $3)
                as "by_address!",
            (select count(*) from password_reset_request where client_ip = $2 and requested_at > $3)
                as "by_client!""#,
        email,
        client,
        since
    )
    .fetch_one(db)
    .await?;
    let (by_address, by_client) = (counts.by_address, counts.by_client);
    if by_address >= MAX_RESET_REQUESTS_PER_ADDRESS || by_client >= MAX_RESET_REQUESTS_PER_CLIENT {
        return Ok(false);
    }
    sqlx::query!(
        "insert into password_reset_request (email, client_ip, requested_at) values ($1, $2, $3)",
        email,
        client,
        now
    )
    .execute(db)
    .await?;
    sqlx::query!(
        "delete from password_reset_request where requested_at < $1",
        now - RESET_REQUEST_WINDOW * 24
    )
    .execute(db)
    .await?;
    Ok(true)
}

/// A reset link for the active member with this address, if there is one.
pub async fn issue_reset(
    db: &PgPool,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<Option<(LinkHolder, String)>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let holder: Option<LinkHolder> = sqlx::query_as!(
LinkHolder,
"select member_id, member_number, name, email, preferred_lang from member where email = $1 and status = 'active' for update",
email.as_str()
)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(holder) = holder else {
        return Ok(None);
    };
    let token = new_link(&mut tx, holder.member_id, LinkPurpose::Reset, now).await?;
    audit(
        &mut tx,
        None,
        Some(holder.member_id),
        AuditAction::MemberPasswordResetRequested,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(Some((holder, token)))
}

/// The first admin, as an invited member with roles member and admin; returns the invite token.
/// Run again before the invite is accepted, it issues a new link for the same person.
pub async fn bootstrap_admin(
    db: &PgPool,
    format: &MemberNumberFormat,
    email: EmailAddress,
    name: String,
    lang: coop_web::Lang,
    now: DateTime<Utc>,
) -> Result<String, BootstrapError> {
    let active_admin: bool = sqlx::query_scalar!(
        r#"select exists (select 1 from member m join member_role r using (member_id)
                        where r.role = 'admin' and m.status = 'active') as "exists!""#
    )
    .fetch_one(db)
    .await?;
    if active_admin {
        return Err(BootstrapError::ActiveAdminExists);
    }
    let existing = sqlx::query!(
        r#"select member_id, status as "status: MemberStatus",
                exists (select 1 from member_role r where r.member_id = m.member_id and r.role = 'admin')
                    as "admin!"
         from member m where email = $1"#,
        email.as_str()
    )
    .fetch_optional(db)
    .await?
    .map(|r| (r.member_id, r.status, r.admin));
    match existing {
        Some((member_id, MemberStatus::Invited, true)) => {
            let (_, token) = reissue_invite(db, None, member_id, now).await?;
            Ok(token)
        }
        Some((_, status, _)) => Err(BootstrapError::EmailTaken(
            email.as_str().to_owned(),
            status,
        )),
        None => {
            let invitee = Invitee {
                name,
                email,
                lang,
                roles: vec![Role::Member, Role::Admin],
            };
            let (_, token) = invite(db, format, invitee, None, now).await?;
            Ok(token)
        }
    }
}
