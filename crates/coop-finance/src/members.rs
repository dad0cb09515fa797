//! The members as coop-sso's member feed tells them: coop-finance keeps each one's number, name,
//! status and household, so that
//!
//! - a till or the buyers club can name a member and the wallet API finds the wallet they spend
//!   from (the household's, when the co-op keeps one wallet per household), even for a member who
//!   never opened coop-finance;
//! - bookkeepers see each wallet under its owner's current name (a household's wallet under its
//!   members' names);
//! - a suspended member, or one who left, cannot spend from a wallet through the API.

use coop_web::feed::consumer::Apply;
use coop_web::feed::Event;
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::WalletPer;

/// A member's standing, as coop-sso names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Invited,
    Active,
    Suspended,
    Left,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Left => "left",
        }
    }

    /// Whether a service may spend from the member's wallet.
    pub fn may_spend(self) -> bool {
        matches!(self, Self::Active)
    }
}

/// A member event as coop-finance reads it (its token carries `members.households`).
#[derive(Debug, Deserialize)]
struct MemberEvent {
    sub: Uuid,
    member_number: String,
    name: String,
    status: Status,
    #[serde(default)]
    household: Option<Uuid>,
}

/// A member as coop-finance knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub member_id: Uuid,
    pub member_number: String,
    pub name: String,
    pub status: Status,
    pub household_id: Option<Uuid>,
}

/// The member with this id, if the feed has told us of them.
pub async fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<Member>, sqlx::Error> {
    sqlx::query_as!(
        Member,
        r#"select member_id, member_number, name, status as "status: Status", household_id
           from member where member_id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// Whose wallet `id` spends from: a known member's own, or their household's when the co-op keeps
/// one per household; an id the feed has not named (a household's own id, or a member the feed
/// has not reached yet) is taken as the owner itself. Answers the member too, when known.
pub async fn wallet_owner(
    conn: &mut PgConnection,
    per: WalletPer,
    id: Uuid,
) -> Result<(Uuid, Option<Member>), sqlx::Error> {
    let m = find(conn, id).await?;
    let owner = match (&m, per) {
        (
            Some(Member {
                household_id: Some(h),
                ..
            }),
            WalletPer::Household,
        ) => *h,
        _ => id,
    };
    Ok((owner, m))
}

/// Follows coop-sso's member feed into the `member` table, keeping wallets' names current.
#[derive(Debug, Clone, Copy)]
pub struct MemberFeed {
    pub wallet_per: WalletPer,
}

impl Apply for MemberFeed {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> anyhow::Result<()> {
        if !event.kind.starts_with("member.") {
            return Ok(());
        }
        let e: MemberEvent = serde_json::from_value(event.payload.clone())?;
        let name: String = e.name.chars().take(200).collect();
        let before = sqlx::query_scalar!(
            "select household_id from member where member_id = $1",
            e.sub
        )
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        sqlx::query!(
            "insert into member (member_id, member_number, name, status, household_id)
             values ($1, $2, $3, $4, $5)
             on conflict (member_id) do update set member_number = excluded.member_number,
                 name = excluded.name, status = excluded.status,
                 household_id = excluded.household_id, updated_at = now()",
            e.sub,
            e.member_number,
            name,
            e.status.as_str(),
            e.household
        )
        .execute(&mut *tx)
        .await?;
        // The member's own wallet keeps their name; a household's carries its members' names.
        sqlx::query!(
            "update wallet set owner_name = $2 where owner_id = $1 and owner_name <> $2",
            e.sub,
            name
        )
        .execute(&mut *tx)
        .await?;
        if self.wallet_per == WalletPer::Household {
            for h in [before, e.household].into_iter().flatten() {
                name_household(tx, h).await?;
            }
        }
        Ok(())
    }
}

/// A household wallet's name: its members' names, those who left last.
async fn name_household(tx: &mut PgConnection, household: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update wallet set owner_name = names.n
           from (select left(coalesce(string_agg(name, ' & '
                    order by status = 'left', member_number), ''), 200) as n
                 from member where household_id = $1) names
           where owner_id = $1 and names.n <> '' and owner_name <> names.n"#,
        household
    )
    .execute(tx)
    .await?;
    Ok(())
}
