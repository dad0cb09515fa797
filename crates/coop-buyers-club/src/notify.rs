//! Telling members what happens to orders: by email (the co-op's `mail` section, lettre) and on
//! Matrix (a message in the co-op's room, and a direct message to one member), as each member
//! chooses.
//!
//! An order's change writes a [`notice`] in its own transaction, and nothing more: sending
//! happens here, later, with retries, so a mail server or homeserver that is down delays
//! messages and never an order. The [`Sender`] fans each notice out into deliveries (the room;
//! each member's chosen channels), then sends what is due. Matrix messages carry the delivery's
//! own transaction id, so a retry after a lost answer is not a second message.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use coop_domain::{Currency, EmailAddress, Money};
use coop_web::i18n::FluentValue;
use coop_web::mail::{Delivery, Mailer, OutgoingMail};
use coop_web::{Lang, Translations};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::matrix::{self, MatrixError};

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An order opened (or re-opened) for purchases.
    Opened,
    /// An open order closes soon.
    Closing,
    Closed,
    Completed,
    Cancelled,
    /// A product was taken out of an open order: the member's purchase of it went.
    Removed,
    /// After delivery, the manager asks to change the member's purchase.
    Changed,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Opened,
        Kind::Closing,
        Kind::Closed,
        Kind::Completed,
        Kind::Cancelled,
        Kind::Removed,
        Kind::Changed,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Opened => "opened",
            Kind::Closing => "closing",
            Kind::Closed => "closed",
            Kind::Completed => "completed",
            Kind::Cancelled => "cancelled",
            Kind::Removed => "removed",
            Kind::Changed => "changed",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Said in the co-op's room too (the others concern one member only).
    fn for_room(self) -> bool {
        !matches!(self, Kind::Removed | Kind::Changed)
    }
}

/// Where a member hears.
pub const CHANNELS: [&str; 2] = ["email", "matrix"];

/// Writes a notice inside the transaction of the change it tells of. `members`: who it is for
/// (none: everyone it concerns, see the `notice` table).
///
/// # Errors
/// The database's.
pub async fn notice(
    tx: &mut PgConnection,
    kind: Kind,
    order: Uuid,
    members: Option<&[Uuid]>,
    params: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into notice (notice_id, kind, order_id, members, params) values ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(kind.as_str())
    .bind(order)
    .bind(members)
    .bind(params)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Remembers how to reach a member, from their sign-in here (coop-sso's ID token): their
/// address, user name (their Matrix id's local part) and language.
///
/// # Errors
/// The database's.
pub async fn remember_contact(
    db: &PgPool,
    member: Uuid,
    email: Option<&str>,
    username: Option<&str>,
    lang: Lang,
) -> Result<(), sqlx::Error> {
    let email = email.filter(|e| e.parse::<EmailAddress>().is_ok());
    let username = username.filter(|u| {
        !u.is_empty()
            && u.len() <= 200
            && u.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._=-/+".contains(&b))
    });
    sqlx::query(
        "insert into member_contact (member_id, email, username, lang) values ($1, $2, $3, $4)
         on conflict (member_id) do update
         set email = excluded.email, username = excluded.username, lang = excluded.lang,
             updated_at = now()
         where (member_contact.email, member_contact.username, member_contact.lang)
               is distinct from (excluded.email, excluded.username, excluded.lang)",
    )
    .bind(member)
    .bind(email)
    .bind(username)
    .bind(lang.code())
    .execute(db)
    .await?;
    Ok(())
}

/// What a member chose to hear (`<kind>:<channel>`), the defaults until they choose.
///
/// # Errors
/// The database's.
pub async fn choices(db: &PgPool, member: Uuid) -> Result<Vec<String>, sqlx::Error> {
    let chosen: Option<Vec<String>> =
        sqlx::query_scalar("select choices from member_contact where member_id = $1")
            .bind(member)
            .fetch_optional(db)
            .await?;
    Ok(chosen.unwrap_or_else(default_choices))
}

/// The choices of a member who never chose (the table's default, kept in step by a test).
#[must_use]
pub fn default_choices() -> Vec<String> {
    [
        "changed:email",
        "changed:matrix",
        "removed:email",
        "removed:matrix",
        "completed:email",
        "cancelled:email",
    ]
    .map(String::from)
    .to_vec()
}

/// Sets what a member wants to hear; anything but `<kind>:<channel>` pairs is refused.
///
/// # Errors
/// An unknown choice (nothing changes), or the database's.
pub async fn set_choices(
    db: &PgPool,
    member: Uuid,
    chosen: &[String],
    lang: Lang,
) -> Result<(), crate::store::Refused> {
    let mut chosen: Vec<String> = chosen.to_vec();
    chosen.sort();
    chosen.dedup();
    let known = |c: &str| {
        c.split_once(':')
            .is_some_and(|(k, ch)| Kind::parse(k).is_some() && CHANNELS.contains(&ch))
    };
    if let Some(bad) = chosen.iter().find(|c| !known(c)) {
        return Err(crate::store::Refused::Invalid(format!(
            "not something to hear about: {bad}"
        )));
    }
    sqlx::query(
        "insert into member_contact (member_id, lang, choices) values ($1, $2, $3)
         on conflict (member_id) do update set choices = excluded.choices, updated_at = now()",
    )
    .bind(member)
    .bind(lang.code())
    .bind(&chosen)
    .execute(db)
    .await?;
    Ok(())
}

/// The co-op's Matrix room and the bot that writes there.
#[derive(Debug, Clone)]
pub struct MatrixOut {
    /// The homeserver, as the bot (or as nobody until `token_file` exists).
    pub client: matrix::Client,
    /// Where the bot's token is, when `client` has none yet: read before each message, so a
    /// bot set up after the service started is used without a restart.
    pub token_file: Option<coop_web::config::SecretFile>,
    /// The room (an alias or id), joined when first written to.
    pub room: String,
    /// Members' Matrix ids are `@<user name>:<server_name>`.
    pub server_name: String,
}

/// Sends the notices: see the module's documentation.
#[derive(Clone)]
pub struct Sender {
    pub db: PgPool,
    pub mailer: Mailer,
    pub matrix: Option<MatrixOut>,
    pub texts: Arc<Translations>,
    pub default_lang: Lang,
    pub time_zone: chrono_tz::Tz,
    pub currency: Currency,
    /// The buyers club's public URL, for links to orders.
    pub base_url: String,
    pub org_name: String,
    /// How long a message is tried before it is given up.
    pub give_up_after: Duration,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// A delivery due, with what is needed to write it.
#[derive(Debug, sqlx::FromRow)]
struct Due {
    notice_id: Uuid,
    channel: String,
    member_id: Option<Uuid>,
    attempts: i32,
    kind: String,
    params: Value,
    created_at: DateTime<Utc>,
    order_id: Uuid,
    title: String,
    supplier: String,
    ends_at: DateTime<Utc>,
    email: Option<String>,
    username: Option<String>,
    lang: Option<String>,
    name: Option<String>,
    part: Option<Decimal>,
}

/// What became of one run of the sender.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub sent: usize,
    pub retrying: usize,
    pub given_up: usize,
}

impl Sender {
    /// Fans out new notices, then sends every delivery that is due.
    ///
    /// # Errors
    /// The database's (a channel's failure is recorded on its delivery instead).
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Sent, sqlx::Error> {
        self.fan_out(now).await?;
        let mut out = Sent::default();
        // Bounded: a run sends at most this many; the next run goes on.
        for _ in 0..500 {
            match self.send_one(now).await? {
                None => break,
                Some(Ok(())) => out.sent += 1,
                Some(Err(true)) => out.retrying += 1,
                Some(Err(false)) => out.given_up += 1,
            }
        }
        Ok(out)
    }

    /// Every `every`, until the service stops.
    pub fn spawn(self, every: Duration) {
        tokio::spawn(async move {
            loop {
                match self.run_once(Utc::now()).await {
                    Ok(s) if s != Sent::default() => {
                        tracing::info!(
                            sent = s.sent,
                            retrying = s.retrying,
                            given_up = s.given_up,
                            "notices"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sending notices"),
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    /// Deliveries are due from `now` (the run's clock, not the database's: a delivery made
    /// in this run is sent in it).
    async fn fan_out(&self, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        loop {
            let mut tx = self.db.begin().await?;
            let next: Option<(Uuid, String, Uuid, Option<Vec<Uuid>>)> = sqlx::query_as(
                "select notice_id, kind, order_id, members from notice
                 where fanned_out_at is null order by created_at limit 1 for update skip locked",
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id, kind, order, members)) = next else {
                return Ok(());
            };
            let kind = Kind::parse(&kind).expect("a kind the table allows");
            if kind.for_room() && self.matrix.is_some() {
                sqlx::query(
                    "insert into notice_delivery (notice_id, channel, next_attempt_at)
                     values ($1, 'room', $2) on conflict do nothing",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            // Who it concerns: named members; or every active member (an order to buy from);
            // or the members with purchases in it.
            let who: Vec<Uuid> = match (members, kind) {
                (Some(m), _) => m,
                (None, Kind::Opened | Kind::Closing) => {
                    sqlx::query_scalar("select member_id from member where status = 'active'")
                        .fetch_all(&mut *tx)
                        .await?
                }
                (None, _) => {
                    sqlx::query_scalar(
                        "select distinct member_id from purchase where order_id = $1
                         union select member_id from settlement where order_id = $1 and amount > 0",
                    )
                    .bind(order)
                    .fetch_all(&mut *tx)
                    .await?
                }
            };
            let mut channels: Vec<&str> = Vec::new();
            if self.mailer.is_configured() {
                channels.push("email");
            }
            if self.matrix.is_some() {
                channels.push("matrix");
            }
            // A member who never signed in here has no contact row: nothing to reach them by.
            sqlx::query(
                "insert into notice_delivery (notice_id, channel, member_id, next_attempt_at)
                 select $1, ch, c.member_id, $5
                 from member_contact c cross join unnest($3::text[]) ch
                 where c.member_id = any($2)
                   and ($4 || ':' || ch) = any(c.choices)
                   and case ch when 'email' then c.email is not null
                               else c.username is not null end
                 on conflict do nothing",
            )
            .bind(id)
            .bind(&who)
            .bind(&channels)
            .bind(kind.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("update notice set fanned_out_at = now() where notice_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
    }

    /// Sends one due delivery: `None` when none is due; else sent, or failed (`true`: it will
    /// be tried again).
    async fn send_one(&self, now: DateTime<Utc>) -> Result<Option<Result<(), bool>>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let due: Option<Due> = sqlx::query_as(
            "select d.notice_id, d.channel, d.member_id, d.attempts, n.kind, n.params,
                    n.created_at, n.order_id, o.title, s.name as supplier, o.ends_at,
                    c.email, c.username, c.lang, m.name,
                    (select amount from settlement st
                     where st.order_id = n.order_id and st.member_id = d.member_id) as part
             from notice_delivery d
             join notice n using (notice_id)
             join club_order o on o.order_id = n.order_id
             join supplier s on s.supplier_id = o.supplier_id
             left join member_contact c on c.member_id = d.member_id
             left join member m on m.member_id = d.member_id
             where d.sent_at is null and d.gave_up is null and d.next_attempt_at <= $1
             order by n.created_at, n.notice_id, d.channel, d.member_id limit 1
             for update of d skip locked",
        )
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(due) = due else {
            return Ok(None);
        };
        let outcome = self.deliver(&mut tx, &due).await;
        let key = (due.notice_id, due.channel.clone(), due.member_id);
        let result = match outcome {
            Ok(()) => {
                sqlx::query(
                    "update notice_delivery set sent_at = $4, attempts = attempts + 1
                     where notice_id = $1 and channel = $2 and member_id is not distinct from $3",
                )
                .bind(key.0)
                .bind(&key.1)
                .bind(key.2)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                Ok(())
            }
            Err((transient, why)) => {
                let age = (now - due.created_at).to_std().unwrap_or_default();
                let retry = transient && age < self.give_up_after;
                tracing::warn!(
                    notice = %due.notice_id, channel = %due.channel, attempt = due.attempts + 1,
                    retry, reason = %why, "a notice was not sent"
                );
                // 30 s, doubling, at most an hour apart.
                let wait = 30_i64 << due.attempts.clamp(0, 7);
                let next = now + chrono::Duration::seconds(wait.min(3600));
                sqlx::query(
                    "update notice_delivery set attempts = attempts + 1, next_attempt_at = $4,
                         gave_up = $5
                     where notice_id = $1 and channel = $2 and member_id is not distinct from $3",
                )
                .bind(key.0)
                .bind(&key.1)
                .bind(key.2)
                .bind(next)
                .bind((!retry).then(|| why.chars().take(500).collect::<String>()))
                .execute(&mut *tx)
                .await?;
                Err(retry)
            }
        };
        tx.commit().await?;
        Ok(Some(result))
    }

    /// Writes and sends one delivery; on failure, whether it is worth retrying and why (never
    /// an address or a body).
    async fn deliver(&self, tx: &mut PgConnection, due: &Due) -> Result<(), (bool, String)> {
        let lang = due
            .lang
            .as_deref()
            .and_then(|l| Lang::parse(l).ok())
            .unwrap_or(self.default_lang);
        let kind = Kind::parse(&due.kind).expect("a kind the table allows");
        let room = due.channel == "room";
        let lang = if room { self.default_lang } else { lang };
        let text = self.text(kind, lang, due, room);
        let txn = format!(
            "cooperage-{}-{}-{}",
            due.notice_id,
            due.channel,
            due.member_id.map(|m| m.to_string()).unwrap_or_default()
        );
        match due.channel.as_str() {
            "room" => {
                let m = self
                    .matrix
                    .as_ref()
                    .ok_or((false, "Matrix is not set up".into()))?;
                let bot = m.bot()?;
                let room_id = bot.join(&m.room).await.map_err(matrix_failure)?;
                bot.send_text(&room_id, &txn, &text.1)
                    .await
                    .map_err(matrix_failure)
            }
            "matrix" => {
                let m = self
                    .matrix
                    .as_ref()
                    .ok_or((false, "Matrix is not set up".into()))?;
                let bot = m.bot()?;
                let member = due.member_id.expect("a member's delivery");
                let user = format!(
                    "@{}:{}",
                    due.username
                        .as_deref()
                        .ok_or((false, "no Matrix id".into()))?,
                    m.server_name
                );
                let existing: Option<String> =
                    sqlx::query_scalar("select room_id from matrix_direct where member_id = $1")
                        .bind(member)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(|e| (true, e.to_string()))?;
                let room_id = if let Some(r) = existing {
                    r
                } else {
                    let r = bot
                        .direct_room(&user, &self.org_name)
                        .await
                        .map_err(matrix_failure)?;
                    // Kept at once (its own statement, outside the delivery's fate), so a
                    // failed send does not make a second room.
                    sqlx::query(
                        "insert into matrix_direct (member_id, room_id) values ($1, $2)
                         on conflict (member_id) do update set room_id = excluded.room_id",
                    )
                    .bind(member)
                    .bind(&r)
                    .execute(&self.db)
                    .await
                    .map_err(|e| (true, e.to_string()))?;
                    r
                };
                bot.send_text(&room_id, &txn, &text.1)
                    .await
                    .map_err(matrix_failure)
            }
            "email" => {
                let to: EmailAddress = due
                    .email
                    .as_deref()
                    .and_then(|e| e.parse().ok())
                    .ok_or((false, "no email address".into()))?;
                let body = format!("{}\n\n{}\n", text.1, self.org_name);
                let msg = OutgoingMail::text(to, due.name.as_deref().unwrap_or(""), &text.0, body);
                match self.mailer.send(msg).await {
                    Ok(Delivery::Sent) => Ok(()),
                    Ok(Delivery::NotConfigured) => Err((false, "no mail server configured".into())),
                    Err(e) => Err((e.is_transient(), e.to_string())),
                }
            }
            other => Err((false, format!("unknown channel {other}"))),
        }
    }

    /// The subject and the text of a notice, in `lang`.
    fn text(&self, kind: Kind, lang: Lang, due: &Due, room: bool) -> (String, String) {
        let fmt = coop_web::format::Format::new(lang, self.time_zone);
        let money = |a: Decimal| fmt.money(Money::new(a, self.currency));
        let p = |k: &str| due.params[k].as_str().unwrap_or_default().to_owned();
        let q = |k: &str| {
            due.params[k]
                .as_str()
                .and_then(|s| s.parse::<Decimal>().ok())
                .map(|d| fmt.number(d.normalize(), d.normalize().scale()))
                .unwrap_or_default()
        };
        let url = format!("{}/orders/{}", self.base_url, due.order_id);
        let ends = fmt.datetime(due.ends_at);
        let part = due.part.map(money).unwrap_or_default();
        let (product, before, after, unit, reason, total) = (
            p("product"),
            q("before"),
            q("after"),
            p("unit"),
            p("reason"),
            due.params["total"]
                .as_str()
                .and_then(|s| s.parse::<Decimal>().ok())
                .map(money)
                .unwrap_or_default(),
        );
        let args = [
            ("title", FluentValue::from(due.title.as_str())),
            ("supplier", FluentValue::from(due.supplier.as_str())),
            ("ends", FluentValue::from(ends.as_str())),
            ("url", FluentValue::from(url.as_str())),
            ("product", FluentValue::from(product.as_str())),
            ("before", FluentValue::from(before.as_str())),
            ("after", FluentValue::from(after.as_str())),
            ("unit", FluentValue::from(unit.as_str())),
            ("reason", FluentValue::from(reason.as_str())),
            ("part", FluentValue::from(part.as_str())),
            ("total", FluentValue::from(total.as_str())),
        ];
        let k = kind.as_str();
        let subject = self
            .texts
            .format(lang, &format!("notice-{k}-subject"), &args);
        let body_key = if room || (kind == Kind::Completed && due.part.is_none()) {
            format!("notice-{k}-room")
        } else {
            format!("notice-{k}-body")
        };
        let body = self.texts.format(lang, &body_key, &args);
        // Fluent wraps arguments in bidi isolation marks; plain-text channels want none. A
        // member's text (a title, a reason) may hold line breaks: a subject is one line.
        let clean = |s: String| s.replace(['\u{2068}', '\u{2069}'], "");
        let one_line: String = clean(subject)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        (one_line, clean(body))
    }
}

impl MatrixOut {
    /// The client as the bot; while the bot is not set up, a failure worth retrying.
    fn bot(&self) -> Result<matrix::Client, (bool, String)> {
        if self.client.has_token() {
            return Ok(self.client.clone());
        }
        match self
            .token_file
            .as_ref()
            .map(coop_web::config::SecretFile::read)
        {
            Some(Ok(token)) => Ok(self.client.with_token(token)),
            _ => Err((true, "the Matrix bot is not set up yet".into())),
        }
    }
}

fn matrix_failure(e: MatrixError) -> (bool, String) {
    (e.is_transient(), e.to_string())
}
