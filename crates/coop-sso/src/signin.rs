//! Who is signed in to coop-sso itself: a row in `web_session` per browser, its id in the
//! kit's encrypted cookie. Other services learn who is signed in through OIDC, not from this.

use crate::domain::AuditAction;
use std::collections::BTreeSet;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use coop_web::Session;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{MemberStatus, Role};
use crate::state::AppState;

/// The kit-session key holding the `web_session_id`.
pub const SESSION_KEY: &str = "sso_session";
/// How long a sign-in lasts without activity limits; members of a co-op sign in on shared
/// computers too, so not forever.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub member_id: Uuid,
    pub member_number: i32,
    pub name: String,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub preferred_lang: String,
    pub household_id: Option<Uuid>,
    pub household_name: Option<String>,
    pub status: MemberStatus,
    pub roles: BTreeSet<Role>,
    pub totp_enabled: bool,
}

impl Member {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn needs_totp(&self) -> bool {
        self.roles.iter().any(|r| r.requires_totp())
    }
}

struct MemberRow {
    member_id: Uuid,
    member_number: i32,
    name: String,
    username: String,
    email: String,
    email_verified: bool,
    preferred_lang: String,
    household_id: Option<Uuid>,
    household_name: Option<String>,
    status: MemberStatus,
    roles: Vec<Role>,
    totp_enabled: bool,
}

fn to_member(row: MemberRow) -> Member {
    Member {
        member_id: row.member_id,
        member_number: row.member_number,
        name: row.name,
        username: row.username,
        email: row.email,
        email_verified: row.email_verified,
        preferred_lang: row.preferred_lang,
        household_id: row.household_id,
        household_name: row.household_name,
        status: row.status,
        roles: row.roles.into_iter().collect(),
        totp_enabled: row.totp_enabled,
    }
}

/// Loads a member through any executor: inside a transaction pass the transaction, never the
/// pool (a second connection per request exhausts the pool under load and deadlocks).
pub async fn load_member<'e, E: sqlx::PgExecutor<'e>>(
    db: E,
    member_id: Uuid,
) -> Result<Option<Member>, sqlx::Error> {
    let row = sqlx::query_as!(
        MemberRow,
        r#"select m.member_id, m.member_number, m.name, m.username, m.email, m.email_verified,
                m.preferred_lang, m.household_id, h.name as "household_name?", m.status as "status: MemberStatus",
                coalesce(array(select role from member_role r where r.member_id = m.member_id order by role), '{}')
                    as "roles!: Vec<Role>",
                m.totp_secret is not null as "totp_enabled!"
         from member m left join household h using (household_id)
         where m.member_id = $1"#,
        member_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(to_member))
}

pub async fn load_member_by_email(db: &PgPool, email: &str) -> Result<Option<Member>, sqlx::Error> {
    let row = sqlx::query_as!(
        MemberRow,
        r#"select m.member_id, m.member_number, m.name, m.username, m.email, m.email_verified,
                m.preferred_lang, m.household_id, h.name as "household_name?", m.status as "status: MemberStatus",
                coalesce(array(select role from member_role r where r.member_id = m.member_id order by role), '{}')
                    as "roles!: Vec<Role>",
                m.totp_secret is not null as "totp_enabled!"
         from member m left join household h using (household_id)
         where m.email = $1"#,
        email
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(to_member))
}

/// A signed-in member of coop-sso.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub member: Member,
    pub web_session_id: Uuid,
    pub auth_time: DateTime<Utc>,
}

/// Starts a session for `member_id` in this browser; renews the cookie session (fixation).
pub async fn start(
    state: &AppState,
    session: &Session,
    member_id: Uuid,
    user_agent: &str,
) -> Result<Uuid, sqlx::Error> {
    let now = state.now();
    // The member signing in again in this browser (prompt=login, max_age): the session's
    // sign-in time moves on, the session (and the tokens issued through it) stay.
    if let Some(id) = session.get::<Uuid>(SESSION_KEY) {
        let again = sqlx::query!(
"update web_session set created_at = $3, last_seen_at = $3, expires_at = $4
             where web_session_id = $1 and member_id = $2 and revoked_at is null and expires_at > $3",
id,
member_id,
now,
now + SESSION_LIFETIME
)
        .execute(state.db())
        .await?;
        if again.rows_affected() == 1 {
            audit_session(state.db(), member_id, AuditAction::SessionSignedInAgain, id).await?;
            session.renew();
            session.insert(SESSION_KEY, &id);
            return Ok(id);
        }
    }
    let id = Uuid::new_v4();
    let ua: String = user_agent.chars().take(300).collect();
    let mut tx = state.db().begin().await?;
    sqlx::query!(
"insert into web_session (web_session_id, member_id, created_at, last_seen_at, expires_at, user_agent)
         values ($1, $2, $3, $3, $4, $5)",
id,
member_id,
now,
now + SESSION_LIFETIME,
&ua
)
    .execute(&mut *tx)
    .await?;
    crate::members::audit(
        &mut tx,
        Some(member_id),
        Some(member_id),
        AuditAction::SessionSignedIn,
        serde_json::json!({
            "session": id,
            "browser": coop_web::format::browser_name(&ua).map(|b| b.to_string()),
        }),
    )
    .await?;
    tx.commit().await?;
    session.renew();
    session.insert(SESSION_KEY, &id);
    Ok(id)
}

pub async fn end(state: &AppState, session: &Session) -> Result<(), sqlx::Error> {
    if let Some(id) = session.get::<Uuid>(SESSION_KEY) {
        revoke(state.db(), id, state.now(), "signed out").await?;
    }
    session.renew();
    Ok(())
}

/// Revokes a browser session and every token family issued through it, and tells the relying
/// parties that signed the member in through it (Back-Channel Logout).
pub async fn revoke(
    db: &PgPool,
    web_session_id: Uuid,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    crate::backchannel::enqueue(
        &mut tx,
        crate::backchannel::Scope::Session(web_session_id),
        reason,
        now,
    )
    .await?;
    let member: Option<Uuid> = sqlx::query_scalar!(
        "select member_id from web_session where web_session_id = $1 and revoked_at is null",
        web_session_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(member) = member {
        let action = if reason == "signed out" {
            AuditAction::SessionSignedOut
        } else {
            AuditAction::SessionRevoked
        };
        crate::members::audit(
            &mut tx,
            Some(member),
            Some(member),
            action,
            serde_json::json!({ "session": web_session_id }),
        )
        .await?;
    }
    sqlx::query!(
        "update web_session set revoked_at = $2 where web_session_id = $1 and revoked_at is null",
        web_session_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update token_family set revoked_at = $2, revoke_reason = 'signed out'
         where web_session_id = $1 and revoked_at is null",
        web_session_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

async fn audit_session(
    db: &PgPool,
    member_id: Uuid,
    action: AuditAction,
    session: Uuid,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    crate::members::audit(
        &mut tx,
        Some(member_id),
        Some(member_id),
        action,
        serde_json::json!({ "session": session }),
    )
    .await?;
    tx.commit().await
}

/// The signed-in member, if the browser has a live session and the member is active.
pub async fn current(state: &AppState, session: &Session) -> Result<Option<SignedIn>, sqlx::Error> {
    let Some(id) = session.get::<Uuid>(SESSION_KEY) else {
        return Ok(None);
    };
    let now = state.now();
    let row = sqlx::query!(
        "select member_id, created_at from web_session
         where web_session_id = $1 and revoked_at is null and expires_at > $2",
        id,
        now
    )
    .fetch_optional(state.db())
    .await?
    .map(|r| (r.member_id, r.created_at));
    let Some((member_id, auth_time)) = row else {
        return Ok(None);
    };
    let Some(member) = load_member(state.db(), member_id).await? else {
        return Ok(None);
    };
    if member.status != MemberStatus::Active {
        return Ok(None);
    }
    // Refresh last-seen at most once a minute: the session list shows it, nothing else needs it.
    sqlx::query!(
"update web_session set last_seen_at = $2 where web_session_id = $1 and last_seen_at < $2::timestamptz - interval '1 minute'",
id,
now
)
    .execute(state.db())
    .await?;
    Ok(Some(SignedIn {
        member,
        web_session_id: id,
        auth_time,
    }))
}

/// A path on this site that is safe to send a browser back to, by the kit's one `return_to`
/// parser (no other origin, no control characters or whitespace of any kind, no backslashes,
/// no dot segments); anything else becomes `/account`.
pub fn safe_return_to(candidate: Option<&str>) -> String {
    candidate
        .and_then(coop_web::auth::ReturnTo::parse)
        .map_or_else(|| "/account".to_owned(), |r| r.as_str().to_owned())
}

/// Looks the signed-in member up once per request, for the handler (`SignedIn`) and for the
/// kit's header (`Viewer`). Requests without a coop-sso session cost nothing.
pub async fn viewer_layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let session = req.extensions().get::<Session>().cloned();
    if let Some(session) = session.filter(|s| s.get::<Uuid>(SESSION_KEY).is_some()) {
        match current(&state, &session).await {
            Ok(Some(signed_in)) => {
                tracing::Span::current().record(
                    "member",
                    tracing::field::display(signed_in.member.member_id),
                );
                req.extensions_mut().insert(coop_web::templates::Viewer {
                    name: signed_in.member.name.clone(),
                    roles: signed_in.member.roles.clone(),
                    sign_out_url: "/logout".into(),
                });
                req.extensions_mut().insert(signed_in);
            }
            Ok(None) => {}
            Err(e) => return crate::Error::from(e).into_response(),
        }
    }
    next.run(req).await
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(signed_in) = parts.extensions.get::<SignedIn>() {
            return Ok(signed_in.clone());
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match current(state, &session).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => {
                let uri = parts
                    .extensions
                    .get::<OriginalUri>()
                    .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
                let here = uri.path_and_query().map_or("/account", |p| p.as_str());
                let q = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("return_to", here)
                    .finish();
                Err(Redirect::to(&format!("/login?{q}")).into_response())
            }
            Err(e) => Err(crate::Error::from(e).into_response()),
        }
    }
}

/// The signed-in member as `viewer_layer` found them for this request, if any: pages that show
/// something to everyone take this instead of looking the session up again.
#[derive(Debug, Clone)]
pub struct MaybeSignedIn(pub Option<SignedIn>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<SignedIn>().cloned()))
    }
}

/// Requires a role; a member without it gets the kit's 403 page.
pub fn require(signed_in: &SignedIn, role: Role) -> Result<(), crate::Error> {
    if signed_in.member.has(role) {
        Ok(())
    } else {
        Err(coop_web::Error::Forbidden.into())
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn return_to_never_leaves_the_site() {
        assert_eq!(
            safe_return_to(Some("/authorize?client_id=x")),
            "/authorize?client_id=x"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            // The pen-test finding: a decoded %09 made `/<TAB>/evil.example`, which browsers
            // read as `//evil.example`.
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\u{b}/evil.example",
            "/\u{c}/evil.example",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "/\u{2028}/evil.example",
            "/\u{0}x",
            "/%2f/evil.example",
            "/a/../../x",
            "",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/account", "{bad:?}");
        }
        assert_eq!(safe_return_to(None), "/account");
    }
}

/// One of a member's live browser sessions, for their account page.
#[derive(Debug, Serialize)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_agent: String,
    #[serde(skip)]
    pub created: DateTime<Utc>,
    #[serde(skip)]
    pub last_seen: DateTime<Utc>,
}

/// The member's live sessions, most recently seen first.
pub async fn live_sessions(
    db: &PgPool,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    sqlx::query_as!(
        SessionRow,
        "select web_session_id as id, user_agent, created_at as created, last_seen_at as last_seen
         from web_session where member_id = $1 and revoked_at is null and expires_at > $2
         order by last_seen_at desc",
        member_id,
        now
    )
    .fetch_all(db)
    .await
}

/// `session` if it is one of `member_id`'s (someone else's id is simply not found).
pub async fn session_of(
    db: &PgPool,
    session: Uuid,
    member_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select web_session_id from web_session where web_session_id = $1 and member_id = $2",
        session,
        member_id
    )
    .fetch_optional(db)
    .await
}
