//! Product requests: a member asks for a product, others vote for it (once each), and a
//! manager accepts or declines it with a reason; the member reads the answer on the page and is
//! told by email.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// How many open requests one member may have at once.
pub const OPEN_PER_MEMBER: i64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("say what you would like the shop to stock (1 to 200 characters)")]
    Title,
    #[error("details are at most 1 000 characters")]
    Details,
    #[error("you have {OPEN_PER_MEMBER} open requests already: wait for an answer first")]
    TooMany,
    #[error("a reason is needed to decline (1 to 1 000 characters)")]
    Reason,
    #[error("this request has been answered already")]
    Decided,
    #[error("no such request")]
    NoRequest,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Who asks.
#[derive(Debug, Clone)]
pub struct Requester<'a> {
    pub member: Uuid,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub lang: &'a str,
}

/// Files a request, with the requester's own vote.
pub async fn create(
    db: &PgPool,
    who: &Requester<'_>,
    title: &str,
    details: &str,
) -> Result<Uuid, RequestError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
        return Err(RequestError::Title);
    }
    let details = Some(details.trim()).filter(|d| !d.is_empty());
    if details.is_some_and(|d| d.chars().count() > 1000) {
        return Err(RequestError::Details);
    }
    let mut tx = db.begin().await?;
    // Requests by one member take turns, so two at once cannot pass the limit together.
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('product_request:' || $1::uuid::text, 0))",
        who.member
    )
    .execute(&mut *tx)
    .await?;
    let open = sqlx::query_scalar!(
        r#"select count(*) as "n!" from product_request where requested_by = $1 and status = 'open'"#,
        who.member
    )
    .fetch_one(&mut *tx)
    .await?;
    if open >= OPEN_PER_MEMBER {
        return Err(RequestError::TooMany);
    }
    let id = Uuid::new_v4();
    let email = who
        .email
        .filter(|e| coop_domain::EmailAddress::parse(e).is_ok());
    sqlx::query!(
        "insert into product_request (product_request_id, requested_by, requester_name,
             requester_email, requester_lang, title, details)
         values ($1, $2, $3, $4, $5, $6, $7)",
        id,
        who.member,
        who.name,
        email,
        who.lang,
        title,
        details
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into product_request_vote (product_request_id, member) values ($1, $2)",
        id,
        who.member
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds a member's vote to an open request; voting again changes nothing. Returns whether the
/// vote is new.
pub async fn vote(db: &PgPool, id: Uuid, member: Uuid) -> Result<bool, RequestError> {
    let status = sqlx::query_scalar!(
        "select status from product_request where product_request_id = $1",
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or(RequestError::NoRequest)?;
    if status != "open" {
        return Err(RequestError::Decided);
    }
    let done = sqlx::query!(
        "insert into product_request_vote (product_request_id, member) values ($1, $2)
         on conflict do nothing",
        id,
        member
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A decision, and whom to tell.
#[derive(Debug, Clone)]
pub struct Decided {
    pub title: String,
    pub requester_name: String,
    pub requester_email: Option<String>,
    pub requester_lang: String,
    pub accepted: bool,
    pub reason: Option<String>,
}

/// Accepts or declines an open request; declining needs a reason. Decided once.
pub async fn decide(
    db: &PgPool,
    id: Uuid,
    accept: bool,
    reason: &str,
    by: Option<Uuid>,
) -> Result<Decided, RequestError> {
    let reason = Some(reason.trim()).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 1000) || (!accept && reason.is_none()) {
        return Err(RequestError::Reason);
    }
    let status = if accept { "accepted" } else { "declined" };
    let row = sqlx::query!(
        "update product_request set status = $2, reason = $3, decided_by = $4, decided_at = now()
         where product_request_id = $1 and status = 'open'
         returning title, requester_name, requester_email, requester_lang",
        id,
        status,
        reason,
        by
    )
    .fetch_optional(db)
    .await?;
    let Some(r) = row else {
        let exists = sqlx::query_scalar!(
            r#"select exists (select 1 from product_request where product_request_id = $1) as "x!""#,
            id
        )
        .fetch_one(db)
        .await?;
        return Err(if exists {
            RequestError::Decided
        } else {
            RequestError::NoRequest
        });
    };
    Ok(Decided {
        title: r.title,
        requester_name: r.requester_name,
        requester_email: r.requester_email,
        requester_lang: r.requester_lang,
        accepted: accept,
        reason: reason.map(str::to_owned),
    })
}

/// A request as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub product_request_id: Uuid,
    pub title: String,
    pub details: Option<String>,
    pub requester_name: String,
    pub status: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub votes: i64,
    pub mine: bool,
    pub voted: bool,
}

/// Open requests, most wanted first, then the 20 latest answers.
pub async fn list(db: &PgPool, member: Uuid) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query_as!(
        Listed,
        r#"select x.product_request_id as "product_request_id!", x.title as "title!",
                  x.details, x.requester_name as "requester_name!", x.status as "status!",
                  x.reason, x.created_at as "created_at!", x.decided_at,
                  x.votes as "votes!", x.mine as "mine!", x.voted as "voted!"
           from (
               (select r.product_request_id, r.title, r.details, r.requester_name, r.status,
                       r.reason, r.created_at, r.decided_at,
                       (select count(*) from product_request_vote v
                        where v.product_request_id = r.product_request_id) as votes,
                       r.requested_by = $1 as mine,
                       exists (select 1 from product_request_vote v
                               where v.product_request_id = r.product_request_id
                                 and v.member = $1) as voted
                from product_request r where r.status = 'open'
                order by votes desc, r.created_at limit 200)
               union all
               (select r.product_request_id, r.title, r.details, r.requester_name, r.status,
                       r.reason, r.created_at, r.decided_at,
                       (select count(*) from product_request_vote v
                        where v.product_request_id = r.product_request_id),
                       r.requested_by = $1,
                       exists (select 1 from product_request_vote v
                               where v.product_request_id = r.product_request_id
                                 and v.member = $1)
                from product_request r where r.status <> 'open'
                order by r.decided_at desc limit 20)
           ) x"#,
        member
    )
    .fetch_all(db)
    .await
}
