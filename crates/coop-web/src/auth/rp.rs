//! Signing members in through coop-sso: the authorization code flow with PKCE (S256), `state`
//! and `nonce`, the ID token checked by the `openidconnect` crate, the member kept in the kit's
//! session, and RP-initiated logout.

use crate::config::ExposeSecret as _;
use std::sync::Arc;

use base64::Engine as _;
use std::time::Duration as StdDuration;

use axum::extract::{FromRef, RawQuery};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Duration, Utc};
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, JsonWebKeySet, LanguageTag,
    Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, TokenResponse as _,
};
use serde::Deserialize;

use super::failure::{ErrorPage, Failure};
use super::id_token::{self, CoopClient};
use super::pending::{self, PendingLogin};
use super::provider::{error_chain, Metadata, Provider};
use super::return_to::ReturnTo;
use super::user::{CurrentUser, USER_KEY};
use crate::app::Kit;
use crate::config::{CoopConfig, Secret, ServiceConfig};
use crate::error::{error_response, ErrorKind};
use crate::i18n::Lang;
use crate::session::{CsrfForm, Session};

/// Knobs with sensible defaults.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// Requested scopes; `openid` is always sent.
    pub scopes: Vec<String>,
    /// How long a sign-in lasts before the member passes through coop-sso again.
    pub sign_in_lifetime: Duration,
    /// How long start-up keeps trying discovery before serving anyway.
    pub discovery_budget: StdDuration,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            // offline_access: a refresh token, with which every session is re-checked at
            // coop-sso every few minutes (see `CurrentUser`).
            scopes: [
                "openid",
                "profile",
                "email",
                "member",
                "roles",
                "offline_access",
            ]
            .map(str::to_owned)
            .to_vec(),
            sign_in_lifetime: Duration::hours(8),
            discovery_budget: StdDuration::from_secs(10),
        }
    }
}

#[derive(Debug)]
struct Inner {
    provider: Provider,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect_uri: RedirectUrl,
    post_logout_redirect_uri: String,
    base_path: String,
    settings: OidcSettings,
    logouts: super::backchannel::Logouts,
    /// Re-checks done lately, by the refresh token they used, one at a time: see `recheck`.
    rechecks: tokio::sync::Mutex<std::collections::HashMap<String, (DateTime<Utc>, Recheck)>>,
}

/// How long the answer to a re-check serves requests that still carry the refresh token it used
/// (sent before the browser had the new cookie).
const RECHECK_REUSE: Duration = Duration::minutes(2);

/// What coop-sso says of a sign-in when asked again.
#[derive(Debug, Clone)]
pub(crate) enum Recheck {
    /// Still good: the member as coop-sso knows them now (roles included).
    Confirmed(Box<CurrentUser>),
    /// Revoked, or the member cannot sign in any more.
    Ended,
    /// coop-sso did not answer.
    Unavailable,
}

/// The service as an OpenID relying party of coop-sso. Built once at start; cheap to clone; the
/// service's state holds one and implements `FromRef` for it (the [`CurrentUser`] extractor
/// needs it).
#[derive(Debug, Clone)]
pub struct OidcClient(Arc<Inner>);

/// Reads the service's OIDC client secret from its `client_secret_file`.
pub(crate) fn read_client_secret(service: &ServiceConfig) -> anyhow::Result<Secret> {
    let file = service.client_secret_file.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "config key `services.{}.client_secret_file`: missing; signing in through coop-sso needs the client secret",
            service.name.key()
        )
    })?;
    Ok(file.read()?)
}

impl OidcClient {
    /// Reads the client secret and discovers coop-sso (retrying for a few seconds; if coop-sso
    /// is not up yet the service starts anyway and discovers on the first sign-in).
    pub async fn start(coop: &CoopConfig, service: &ServiceConfig) -> anyhow::Result<Self> {
        Self::start_with(
            Provider::from_config(coop)?,
            service,
            OidcSettings::default(),
        )
        .await
    }

    pub async fn start_with(
        provider: Provider,
        service: &ServiceConfig,
        settings: OidcSettings,
    ) -> anyhow::Result<Self> {
        let secret = read_client_secret(service)?;
        let budget = settings.discovery_budget;
        let client = Self::new(provider, service, &secret, settings)?;
        client.provider().discover_at_start(budget).await;
        Ok(client)
    }

    /// Without any network: discovery happens when first needed.
    pub fn new(
        provider: Provider,
        service: &ServiceConfig,
        client_secret: &Secret,
        settings: OidcSettings,
    ) -> anyhow::Result<Self> {
        let redirect_uri = RedirectUrl::new(service.url("/auth/callback"))?;
        Ok(Self(Arc::new(Inner {
            provider,
            client_id: ClientId::new(service.name.client_id()),
            client_secret: ClientSecret::new(client_secret.expose_secret().to_owned()),
            redirect_uri,
            post_logout_redirect_uri: service.url("/"),
            base_path: service.base_path(),
            settings,
            logouts: super::backchannel::Logouts::default(),
            rechecks: tokio::sync::Mutex::default(),
        })))
    }

    pub(crate) fn logouts(&self) -> &super::backchannel::Logouts {
        &self.0.logouts
    }

    pub(crate) fn sign_in_lifetime(&self) -> Duration {
        self.0.settings.sign_in_lifetime
    }

    /// Asks coop-sso again about a sign-in, with its refresh token: a suspended member, a
    /// revoked session or a changed role shows here within minutes.
    ///
    /// Refresh tokens rotate and coop-sso revokes a sign-in whose refresh token comes back twice
    /// (a stolen copy). Two requests of one browser arriving together after the five minutes
    /// carry the same refresh token, so re-checks run one at a time, and a request with a
    /// refresh token that was just used gets that re-check's answer instead of using it again.
    pub(crate) async fn recheck(&self, user: &CurrentUser) -> Recheck {
        let Some(refresh) = user.refresh_token.clone() else {
            // Without a refresh token there is nothing to ask with: the sign-in must be redone.
            return Recheck::Ended;
        };
        let now = self.now();
        let mut done = self.0.rechecks.lock().await;
        done.retain(|_, (at, _)| now - *at < RECHECK_REUSE);
        // Kept by its hash only: the map outlives the request.
        let used = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, refresh.as_bytes()),
        );
        if let Some((_, answer)) = done.get(&used) {
            return answer.clone();
        }
        let answer = self.refresh_at_provider(user, refresh).await;
        if !matches!(answer, Recheck::Unavailable) {
            done.insert(used, (now, answer.clone()));
        }
        answer
    }

    async fn refresh_at_provider(&self, user: &CurrentUser, refresh: String) -> Recheck {
        let metadata = match self.0.provider.metadata().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("re-check postponed: {e}");
                return Recheck::Unavailable;
            }
        };
        let token = match self
            .client(&metadata)
            .exchange_refresh_token(&RefreshToken::new(refresh))
            .request_async(self.0.provider.http())
            .await
        {
            Ok(t) => t,
            Err(RequestTokenError::ServerResponse(r)) => {
                tracing::info!(sub = %user.sub, error = %r.error(), "coop-sso refused the refresh");
                return Recheck::Ended;
            }
            Err(e) => {
                tracing::warn!("re-check postponed: {}", error_chain(&e));
                return Recheck::Unavailable;
            }
        };
        let Some(id_token) = token.id_token() else {
            return Recheck::Ended;
        };
        let no_nonce = |_: Option<&Nonce>| -> Result<(), String> { Ok(()) };
        let fresh = match id_token::verify(
            &self.0.provider,
            &self.0.client_id,
            id_token,
            &no_nonce,
            user.expires_at,
        )
        .await
        {
            Ok(u) if u.sub == user.sub => u,
            Ok(_) => return Recheck::Ended,
            Err(e) => {
                tracing::warn!(sub = %user.sub, "refreshed ID token refused: {e:?}");
                return Recheck::Ended;
            }
        };
        Recheck::Confirmed(Box::new(CurrentUser {
            sid: user.sid.clone(),
            signed_in_at: user.signed_in_at,
            refresh_token: token
                .refresh_token()
                .map(|r| r.secret().clone())
                .or_else(|| user.refresh_token.clone()),
            ..fresh
        }))
    }

    pub fn provider(&self) -> &Provider {
        &self.0.provider
    }

    pub fn client_id(&self) -> &str {
        self.0.client_id.as_str()
    }

    pub fn base_path(&self) -> &str {
        &self.0.base_path
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.0.provider.now()
    }

    /// The sign-in route's URL (path) that comes back to `return_to`, for "Sign in" links.
    pub fn login_location(&self, return_to: &ReturnTo) -> String {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", return_to.as_str())
            .finish();
        format!("{}/auth/login?{q}", self.0.base_path.trim_end_matches('/'))
    }

    /// `GET /auth/login`, `GET /auth/callback`, `POST /auth/logout`, for the service to merge
    /// into its routes. Their error pages come from the kit (`Kit: FromRef<S>`).
    pub fn routes<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Kit: FromRef<S>,
    {
        Router::new()
            .route("/auth/login", get(login))
            .route("/auth/callback", get(callback))
            .route("/auth/logout", post(logout))
            .route(
                "/auth/backchannel-logout",
                post(super::backchannel::receive),
            )
            .layer(Extension(self.clone()))
    }

    fn client(&self, metadata: &Metadata) -> CoopClient {
        // The key set is unused here: ID tokens are checked by `verify_id_token`.
        Client::new(
            self.0.client_id.clone(),
            self.0.provider.issuer_url().clone(),
            JsonWebKeySet::default(),
        )
        .set_client_secret(self.0.client_secret.clone())
        .set_auth_uri(metadata.authorization_endpoint.clone())
        .set_token_uri(metadata.token_endpoint.clone())
        .set_redirect_uri(self.0.redirect_uri.clone())
    }
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut res = status.into_response();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Err(_) => return error_response(ErrorKind::Internal, Some("unusable Location".into())),
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Provider-supplied text for the log: short, one line.
fn for_log(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}

/// `GET /auth/login?return_to=/path`: off to coop-sso.
async fn login(
    Extension(oidc): Extension<OidcClient>,
    error_page: ErrorPage,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    start_login(&oidc, &session, error_page.lang, query.as_deref())
        .await
        .unwrap_or_else(|f| f.render(&error_page))
}

async fn start_login(
    oidc: &OidcClient,
    session: &Session,
    lang: Lang,
    query: Option<&str>,
) -> Result<Response, Failure> {
    let return_to = ReturnTo::parse_or_home(query_param(query, "return_to").as_deref());
    let metadata = oidc.0.provider.metadata().await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let scopes = oidc
        .0
        .settings
        .scopes
        .iter()
        .filter(|s| *s != "openid")
        .map(|s| Scope::new(s.clone()));
    let (url, state, nonce) = oidc
        .client(&metadata)
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(scopes)
        .set_pkce_challenge(challenge)
        .add_ui_locale(LanguageTag::new(lang.code().to_owned()))
        .url();
    let now = oidc.now();
    pending::remember(
        session,
        PendingLogin {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
            started_at: now,
        },
        now,
    );
    Ok(redirect(StatusCode::FOUND, url.as_str()))
}

#[derive(Debug, Default, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

/// `GET /auth/callback?code=…&state=…`: back from coop-sso.
async fn callback(
    Extension(oidc): Extension<OidcClient>,
    error_page: ErrorPage,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    finish_login(&oidc, &session, query.as_deref())
        .await
        .unwrap_or_else(|f| f.render(&error_page))
}

async fn finish_login(
    oidc: &OidcClient,
    session: &Session,
    query: Option<&str>,
) -> Result<Response, Failure> {
    let q: CallbackQuery = serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|e| Failure::BadRequest(format!("callback query: {e}")))?;
    let state = q
        .state
        .ok_or_else(|| Failure::BadRequest("callback without state".into()))?;
    let pending = pending::take(session, &state, oidc.now()).ok_or_else(|| {
        Failure::BadRequest("callback state matches no sign-in started in this browser".into())
    })?;
    // RFC 9207: coop-sso names itself in every authorization response; a response that names
    // another issuer, or none, may come from a mix-up attack.
    match q.iss {
        Some(iss) if iss == oidc.0.provider.issuer() => {}
        Some(iss) => {
            return Err(Failure::BadRequest(format!(
                "callback from issuer {:?}",
                for_log(&iss)
            )))
        }
        None => {
            return Err(Failure::BadRequest(
                "callback without iss (RFC 9207)".into(),
            ))
        }
    }
    if let Some(error) = q.error {
        return Err(Failure::BadRequest(format!(
            "coop-sso answered the sign-in with error {:?}",
            for_log(&error)
        )));
    }
    let code = q
        .code
        .ok_or_else(|| Failure::BadRequest("callback without code".into()))?;
    let metadata = oidc.0.provider.metadata().await?;
    let token = oidc
        .client(&metadata)
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(oidc.0.provider.http())
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => Failure::BadRequest(format!(
                "the token endpoint refused the code: {}",
                r.error()
            )),
            other => Failure::Unavailable(format!("token endpoint: {}", error_chain(&other))),
        })?;
    let id_token = token
        .id_token()
        .ok_or_else(|| Failure::BadRequest("token response without id_token".into()))?;
    let mut user = id_token::verify(
        &oidc.0.provider,
        &oidc.0.client_id,
        id_token,
        &Nonce::new(pending.nonce),
        oidc.now() + oidc.0.settings.sign_in_lifetime,
    )
    .await?;
    user.refresh_token = token.refresh_token().map(|r| r.secret().clone());
    oidc.0
        .logouts
        .signed_in(&user, oidc.0.settings.sign_in_lifetime);
    tracing::info!(sub = %user.sub, "signed in");
    // A new session (and CSRF token) for the signed-in member: a session id planted before
    // sign-in is worth nothing after it.
    session.renew();
    session.insert(USER_KEY, &user);
    Ok(redirect(
        StatusCode::SEE_OTHER,
        &pending.return_to.location(&oidc.0.base_path),
    ))
}

/// The sign-out form posts only its CSRF token.
#[derive(Debug, Deserialize)]
struct LogoutForm {}

/// `POST /auth/logout`: forget the member here, then sign out at coop-sso.
async fn logout(
    Extension(oidc): Extension<OidcClient>,
    session: Session,
    CsrfForm(LogoutForm {}): CsrfForm<LogoutForm>,
) -> Response {
    let user: Option<CurrentUser> = session.get(USER_KEY);
    session.renew();
    let end_session = match oidc.0.provider.metadata().await {
        Ok(m) => m.end_session_endpoint.clone(),
        Err(e) => {
            tracing::warn!("signed out here only: {e}");
            None
        }
    };
    let location = match end_session {
        Some(endpoint) => {
            let mut url = endpoint.url().clone();
            {
                let mut q = url.query_pairs_mut();
                if let Some(u) = user.as_ref().filter(|u| !u.id_token.is_empty()) {
                    q.append_pair("id_token_hint", &u.id_token);
                }
                q.append_pair("post_logout_redirect_uri", &oidc.0.post_logout_redirect_uri);
                q.append_pair("client_id", oidc.0.client_id.as_str());
            }
            url.to_string()
        }
        None => ReturnTo::home().location(&oidc.0.base_path),
    };
    redirect(StatusCode::SEE_OTHER, &location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_text_is_tamed_for_the_log() {
        assert_eq!(for_log("a\r\nb"), "ab");
        assert_eq!(for_log(&"x".repeat(500)).len(), 80);
    }
}
