//! The members as coop-sso's member feed tells them (this service's token has `members.feed`):
//! their number, name and standing, for the pages that list who ordered what.

use coop_web::feed::consumer::Apply;
use coop_web::feed::Event;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Deserialize)]
struct MemberEvent {
    sub: Uuid,
    member_number: String,
    name: String,
    status: String,
}

/// A member as the buyers club shows them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Member {
    pub member_id: Uuid,
    pub member_number: String,
    pub name: String,
    pub status: String,
}

/// Applies coop-sso's `member.*` events.
#[derive(Debug, Clone, Copy)]
pub struct MemberFeed;

impl Apply for MemberFeed {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> anyhow::Result<()> {
        if !event.kind.starts_with("member.") {
            return Ok(());
        }
        let e: MemberEvent = serde_json::from_value(event.payload.clone())?;
        anyhow::ensure!(
            ["invited", "active", "suspended", "left"].contains(&e.status.as_str()),
            "member status {:?}",
            e.status
        );
        let name: String = e.name.chars().take(200).collect();
        sqlx::query(
            "insert into member (member_id, member_number, name, status) values ($1, $2, $3, $4)
             on conflict (member_id) do update set member_number = excluded.member_number,
                 name = excluded.name, status = excluded.status, updated_at = now()",
        )
        .bind(e.sub)
        .bind(&e.member_number)
        .bind(name)
        .bind(&e.status)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

/// The members with these ids that the feed has named.
pub async fn named(db: &PgPool, ids: &[Uuid]) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as(
        "select member_id, member_number, name, status from member where member_id = any($1)",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

/// The active members, by name (to hand an order to).
pub async fn active(db: &PgPool) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as(
        "select member_id, member_number, name, status from member where status = 'active'
         order by lower(name), member_number",
    )
    .fetch_all(db)
    .await
}

/// Whether the member may buy: active, or not yet named by the feed (a new member the feed has
/// not reached; coop-finance still refuses an inactive member's hold).
pub async fn may_buy(db: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let status: Option<String> =
        sqlx::query_scalar("select status from member where member_id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(status.is_none_or(|s| s == "active"))
}
