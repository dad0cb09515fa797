//! The signed-in member, as the session remembers them, and the extractor that asks for one.

use std::collections::BTreeSet;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use coop_domain::Role;
use serde::{Deserialize, Serialize};

use super::return_to::ReturnTo;
use super::rp::OidcClient;
use crate::error::Error;
use crate::session::Session;

/// The session key under which the member is kept.
pub(crate) const USER_KEY: &str = "auth.user";

/// A member signed in through coop-sso, from the claims of their ID token.
///
/// Handlers take it as an extractor; without a signed-in member a page answers with a redirect to
/// sign-in and an API (a path under `/api/`, or a client that wants JSON) with 401. A
/// `CurrentUser` placed in the request extensions by server code (a test, or a middleware) is
/// taken as-is, which is how a role × route matrix test signs in without a provider:
///
/// ```ignore
/// let mut req = Request::get("/pos/admin").body(Body::empty())?;
/// req.extensions_mut().insert(CurrentUser::fixture([Role::Cashier]));
/// assert_eq!(app.clone().oneshot(req).await?.status(), StatusCode::FORBIDDEN);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    /// coop-sso's stable, opaque member id.
    pub sub: String,
    pub name: String,
    pub email: Option<String>,
    pub preferred_username: Option<String>,
    pub member_number: Option<String>,
    pub household: Option<String>,
    pub roles: BTreeSet<Role>,
    /// The raw ID token, sent back to coop-sso as the hint when signing out.
    pub id_token: String,
    /// When this sign-in lapses and the member goes through coop-sso again.
    pub expires_at: DateTime<Utc>,
    /// The coop-sso session this sign-in came through (`sid`), which a back-channel logout
    /// names.
    #[serde(default)]
    pub sid: Option<String>,
    /// When the member signed in here.
    #[serde(default)]
    pub signed_in_at: DateTime<Utc>,
    /// When coop-sso last confirmed the member (sign-in or refresh): at most
    /// [`RECHECK_AFTER`] ago, else the next request checks again.
    #[serde(default)]
    pub checked_at: DateTime<Utc>,
    /// Refreshes the sign-in at coop-sso for the re-check; never leaves the encrypted session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// How long a sign-in goes without coop-sso confirming the member again (a suspension, a
/// removed role or a sign-out elsewhere takes effect within this, even if a back-channel
/// logout was missed).
pub const RECHECK_AFTER: Duration = Duration::minutes(5);

impl CurrentUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// `Ok` when the member holds `role`, else 403.
    pub fn require(&self, role: Role) -> Result<(), Error> {
        if self.has(role) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// `Ok` when the member holds at least one of `roles`, else 403.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), Error> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// A member with these roles, for tests: valid for a day, no real ID token.
    pub fn fixture(roles: impl IntoIterator<Item = Role>) -> Self {
        let roles: BTreeSet<Role> = roles.into_iter().collect();
        let tag = roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join("-");
        Self {
            sub: format!("test-member-{tag}"),
            name: format!("Test Member ({tag})"),
            email: None,
            preferred_username: Some(format!("test-{tag}")),
            member_number: None,
            household: None,
            roles,
            id_token: String::new(),
            expires_at: Utc::now() + Duration::days(1),
            sid: None,
            signed_in_at: Utc::now(),
            checked_at: Utc::now(),
            refresh_token: None,
        }
    }

    pub(crate) fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }
}

/// Why a request has no signed-in member.
#[derive(Debug)]
pub enum AuthRejection {
    /// A page: 303 to the sign-in route, which comes back here afterwards.
    SignIn { location: String },
    /// An API request: 401.
    Unauthorized,
    /// The kit is missing a piece (no session layer).
    Kit(Error),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::SignIn { location } => {
                let mut res = StatusCode::SEE_OTHER.into_response();
                if let Ok(v) = HeaderValue::from_str(&location) {
                    res.headers_mut().insert(header::LOCATION, v);
                }
                res.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                res
            }
            AuthRejection::Unauthorized => Error::Unauthorized.into_response(),
            AuthRejection::Kit(e) => e.into_response(),
        }
    }
}

async fn from_parts(
    parts: &Parts,
    oidc: &OidcClient,
) -> Result<Option<CurrentUser>, AuthRejection> {
    let now = oidc.now();
    if let Some(user) = parts.extensions.get::<CurrentUser>() {
        return Ok(user.is_current(now).then(|| user.clone()));
    }
    let session = parts.extensions.get::<Session>().ok_or_else(|| {
        AuthRejection::Kit(Error::Internal(anyhow::anyhow!(
            "the session layer is not installed on this route"
        )))
    })?;
    let Some(user) = session
        .get::<CurrentUser>(USER_KEY)
        .filter(|u| u.is_current(now))
    else {
        return Ok(None);
    };
    // Logged out at coop-sso (back-channel logout): the session here is over too.
    if oidc.logouts().is_logged_out(&user) {
        session.remove(USER_KEY);
        return Ok(None);
    }
    if now - user.checked_at < RECHECK_AFTER {
        return Ok(Some(user));
    }
    match oidc.recheck(&user).await {
        super::rp::Recheck::Confirmed(fresh) => {
            session.insert(USER_KEY, &fresh);
            Ok(Some(*fresh))
        }
        super::rp::Recheck::Ended => {
            tracing::info!(sub = %user.sub, "the sign-in ended at coop-sso");
            session.remove(USER_KEY);
            Ok(None)
        }
        // coop-sso cannot be reached: the member keeps working, and the next request asks again.
        super::rp::Recheck::Unavailable => Ok(Some(user)),
    }
}

/// Same rule as the kit's error pages: API paths and JSON clients get status codes, not pages.
fn wants_json(parts: &Parts) -> bool {
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    original_uri(parts).path().contains("/api/")
        || (accept.contains("application/json") && !accept.contains("text/html"))
}

/// The URI as the client sent it: a nested router strips its prefix from `parts.uri`.
fn original_uri(parts: &Parts) -> &axum::http::Uri {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(&parts.uri, |o| &o.0)
}

fn original_path_and_query(parts: &Parts) -> &str {
    original_uri(parts)
        .path_and_query()
        .map_or("/", |p| p.as_str())
}

/// The request's path inside the service (without its base path), if it is one to come back to.
fn return_to(parts: &Parts, base_path: &str) -> ReturnTo {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        // After sign-in the browser arrives with a GET; a form's target would not answer it.
        return ReturnTo::home();
    }
    let pq = original_path_and_query(parts);
    let base = base_path.trim_end_matches('/');
    let inside = match pq.strip_prefix(base) {
        Some("") => "/".to_owned(),
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        Some(rest) if rest.starts_with('?') => format!("/{rest}"),
        _ => return ReturnTo::home(),
    };
    ReturnTo::parse(&inside).unwrap_or_else(ReturnTo::home)
}

fn rejection(parts: &Parts, oidc: &OidcClient) -> AuthRejection {
    if wants_json(parts) {
        AuthRejection::Unauthorized
    } else {
        let back = return_to(parts, oidc.base_path());
        AuthRejection::SignIn {
            location: oidc.login_location(&back),
        }
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    OidcClient: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let oidc = OidcClient::from_ref(state);
        match from_parts(parts, &oidc).await? {
            Some(user) => {
                tracing::Span::current().record("member", user.sub.as_str());
                Ok(user)
            }
            None => Err(rejection(parts, &oidc)),
        }
    }
}

/// `Option<CurrentUser>`: pages that show something to everyone and more to members.
impl<S> OptionalFromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    OidcClient: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let oidc = OidcClient::from_ref(state);
        let user = from_parts(parts, &oidc).await?;
        if let Some(user) = &user {
            tracing::Span::current().record("member", user.sub.as_str());
        }
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_checks() {
        let u = CurrentUser::fixture([Role::Member, Role::Cashier]);
        assert!(u.require(Role::Cashier).is_ok());
        assert!(matches!(u.require(Role::Manager), Err(Error::Forbidden)));
        assert!(u.require_any(&[Role::Manager, Role::Cashier]).is_ok());
        assert!(u.require_any(&[Role::Manager, Role::Admin]).is_err());
        assert!(u.require_any(&[]).is_err());
    }

    #[test]
    fn return_to_is_the_path_inside_the_service() {
        let parts = |method: Method, uri: &str| {
            let (mut parts, ()) = axum::http::Request::builder()
                .method(method)
                .uri(uri)
                .body(())
                .unwrap()
                .into_parts();
            parts
                .extensions
                .insert(axum::extract::OriginalUri(uri.parse().unwrap()));
            parts
        };
        let p = parts(Method::GET, "/pos/orders?week=12");
        assert_eq!(return_to(&p, "/pos").as_str(), "/orders?week=12");
        assert_eq!(return_to(&parts(Method::GET, "/pos"), "/pos").as_str(), "/");
        assert_eq!(
            return_to(&parts(Method::GET, "/pos?x=1"), "/pos").as_str(),
            "/?x=1"
        );
        assert_eq!(
            return_to(&parts(Method::GET, "/posx"), "/pos").as_str(),
            "/"
        );
        assert_eq!(
            return_to(&parts(Method::POST, "/pos/o"), "/pos").as_str(),
            "/"
        );
        assert_eq!(return_to(&parts(Method::GET, "/o/p"), "/").as_str(), "/o/p");
    }
}
