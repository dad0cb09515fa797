//! The kit's part of every service: shared state, the middleware stack, health, metrics, error
//! pages, language choice, and serving on TCP or a Unix socket until SIGTERM.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sqlx::migrate::Migrator;
use sqlx::PgPool;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::user::{CurrentUser, USER_KEY};
use crate::branding::Logo;
use crate::config::{CoopConfig, ListenAddr, ServiceConfig, ServiceName};
use crate::error::{ErrorKind, ErrorReport};
use crate::i18n::Lang;
use crate::metrics::{self, Metrics};
use crate::session::{self, Session, SessionConfig};
use crate::templates::{PageContext, Templates, Viewer, KIT_CSS};

/// What the kit needs at request time; a service's state holds one and implements `FromRef`.
#[derive(Debug, Clone)]
pub struct Kit {
    pub coop: Arc<CoopConfig>,
    pub service: Arc<ServiceConfig>,
    pub templates: Templates,
    pub metrics: Metrics,
    pub session: Arc<SessionConfig>,
    pub db: PgPool,
    pub migrator: &'static Migrator,
    /// The co-op's logo from config, read at start.
    pub logo: Option<Logo>,
}

impl Kit {
    /// The base layout's context for a request in `lang` at `path_and_query`.
    pub fn page(&self, lang: Lang, path_and_query: &str) -> PageContext {
        let mut page = PageContext::new(
            lang,
            &self.coop.languages,
            &self.coop.organisation.name,
            &self.service.base_path(),
            self.coop.public_url.as_ref(),
            path_and_query,
        );
        page.has_logo = self.logo.is_some();
        page
    }

    /// Where a signed-out visitor signs in on this service.
    pub fn sign_in_url(&self) -> String {
        if self.service.name == ServiceName::Sso {
            self.service.url("/login")
        } else {
            self.service.url("/auth/login")
        }
    }
}

/// The language of this request, chosen by the kit's middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestLang>()
            .copied()
            .unwrap_or(RequestLang(Lang::En)))
    }
}

/// Everything a page handler needs for the layout: language, links, a CSRF token for forms.
#[derive(Debug, Clone)]
pub struct Page {
    pub kit: Kit,
    pub ctx: PageContext,
    pub session: Session,
}

impl Page {
    pub fn lang(&self) -> Lang {
        self.ctx.lang
    }

    /// Renders a full page; `data` is merged into the template context.
    pub fn render<T: serde::Serialize>(
        &self,
        template: &str,
        data: &T,
    ) -> Result<Html<String>, crate::Error> {
        Ok(Html(self.kit.templates.render(template, &self.ctx, data)?))
    }

    pub fn t(&self, id: &str) -> String {
        self.kit.templates.translations().text(self.ctx.lang, id)
    }
}

impl<S> FromRequestParts<S> for Page
where
    S: Send + Sync,
    Kit: FromRef<S>,
{
    type Rejection = crate::Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let kit = Kit::from_ref(state);
        let session = Session::from_request_parts(parts, state).await?;
        let RequestLang(lang) = parts
            .extensions
            .get::<RequestLang>()
            .copied()
            .unwrap_or(RequestLang(kit.coop.default_lang));
        let pq = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
        let pq = pq.path_and_query().map_or("/", |p| p.as_str());
        let mut ctx = kit.page(lang, pq);
        ctx.csrf_token = Some(session.csrf_token());
        // The member in the header: a service that signs members in itself (coop-sso) puts a
        // `Viewer` in the request; the others have the RP session's member.
        let viewer = parts.extensions.get::<Viewer>().cloned().or_else(|| {
            session
                .get::<CurrentUser>(USER_KEY)
                .filter(|u| u.expires_at > chrono::Utc::now())
                .map(|u| Viewer {
                    name: u.name,
                    roles: u.roles,
                    sign_out_url: kit.service.url("/auth/logout"),
                })
        });
        match viewer {
            Some(v) => ctx.set_viewer(v, &kit.coop, kit.service.name),
            None => ctx.sign_in_url = Some(kit.sign_in_url()),
        }
        Ok(Self { kit, ctx, session })
    }
}

const LANG_COOKIE: &str = "coop-lang";

/// `?lang=` (remembered in a cookie), else the cookie, else `Accept-Language`, else the co-op's
/// default language.
async fn choose_lang(State(kit): State<Kit>, mut req: Request, next: Next) -> Response {
    let available = &kit.coop.languages;
    let from_query = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(&v).ok())
            .filter(|l| available.contains(l))
    });
    let from_cookie = || {
        req.headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|s| s.split(';'))
            .filter_map(|c| {
                c.trim()
                    .strip_prefix(LANG_COOKIE)
                    .and_then(|r| r.strip_prefix('='))
            })
            .find_map(|v| Lang::parse(v).ok().filter(|l| available.contains(l)))
    };
    let from_header = || {
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| Lang::negotiate(h, available))
    };
    let lang = from_query
        .or_else(from_cookie)
        .or_else(from_header)
        .unwrap_or(kit.coop.default_lang);
    req.extensions_mut().insert(RequestLang(lang));
    let mut res = next.run(req).await;
    if let Some(l) = from_query {
        let secure = if kit.service.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        let c = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
            l.code()
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

fn wants_json(req: &Request) -> bool {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    req.uri().path().contains("/api/")
        || (accept.contains("application/json") && !accept.contains("text/html"))
}

/// Turns error responses into pages in the member's language (or JSON for API clients) and
/// logs what went wrong; the internal detail never reaches the client.
async fn render_errors(State(kit): State<Kit>, req: Request, next: Next) -> Response {
    let json = wants_json(&req);
    let lang = req
        .extensions()
        .get::<RequestLang>()
        .map_or(kit.coop.default_lang, |l| l.0);
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned);
    // The error page's language links keep the path only: a failed request's query may carry
    // codes or tokens that have no business being repeated in the page.
    let pq = req.uri().path().to_owned();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let report = res.extensions().get::<ErrorReport>().cloned();
    let kind = if let Some(r) = &report {
        r.kind
    } else {
        // Responses a service wrote itself (JSON errors of an API, OIDC error pages) pass.
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if ct.starts_with("text/html") || ct.starts_with("application/json") {
            return res;
        }
        match ErrorKind::from_status(status) {
            Some(k) => k,
            None => return res,
        }
    };
    let detail = report.and_then(|r| r.detail).unwrap_or_default();
    if status.is_server_error() {
        tracing::error!(%status, request_id = request_id.as_deref().unwrap_or("-"), "{detail}");
    } else if !detail.is_empty() {
        tracing::info!(%status, request_id = request_id.as_deref().unwrap_or("-"), "{detail}");
    }
    let mut headers = res.headers().clone();
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    let mut out = if json {
        (status, Json(serde_json::json!({ "error": kind.code() }))).into_response()
    } else {
        let (title_key, message_key) = kind.message_keys();
        let page = kit.page(lang, &pq);
        let data = serde_json::json!({
            "title_key": title_key,
            "message_key": message_key,
            "request_id": if status.is_server_error() { request_id } else { None },
        });
        match kit.templates.render("error.html", &page, &data) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("rendering the error page failed: {e}");
                (status, kind.code()).into_response()
            }
        }
    };
    for (name, value) in &headers {
        out.headers_mut().insert(name.clone(), value.clone());
    }
    out
}

/// The headers every answer carries, set through tower-http. A handler may set its own
/// Content-Security-Policy (the OIDC form-post page does); the others are fixed.
/// No form-action in the default policy: the OIDC login form legitimately redirects to other
/// origins.
fn with_security_headers(router: Router) -> Router {
    use tower_http::set_header::SetResponseHeaderLayer;
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}

/// A request, once started, runs to its end even when the client goes away or the timeout
/// fires. Cancelling a handler half-way through a transaction loses writes and can leave a
/// pooled connection inside a transaction (seen under load with sqlx 0.8.6); finishing the work
/// nobody waits for any more is cheap by comparison. A panic becomes a 500, not a dropped socket.
async fn run_to_completion(req: Request, next: Next) -> Response {
    use tracing::Instrument as _;
    match tokio::spawn(next.run(req).instrument(tracing::Span::current())).await {
        Ok(res) => res,
        Err(e) => crate::error::error_response(
            ErrorKind::Internal,
            Some(format!("request task failed: {e}")),
        ),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(kit): State<Kit>) -> Response {
    match crate::db::ready(&kit.db, kit.migrator).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(reason) => {
            tracing::warn!("not ready: {reason}");
            // A plain-text 503 for probes; it is marked so the error page layer leaves it.
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"error\":\"not_ready\"}",
            )
                .into_response()
        }
    }
}

async fn metrics_text(State(kit): State<Kit>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        kit.metrics.render(),
    )
}

async fn kit_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        KIT_CSS,
    )
}

async fn theme_css(State(kit): State<Kit>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::branding::theme_css(&kit.coop.organisation),
    )
}

async fn logo(State(kit): State<Kit>) -> Response {
    match &kit.logo {
        Some(logo) => (
            [
                (header::CONTENT_TYPE, logo.content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            logo.bytes.clone(),
        )
            .into_response(),
        None => crate::error::error_response(ErrorKind::NotFound, None),
    }
}

/// `/styleguide`: every component of the kit's design system on one page, in every language.
async fn styleguide(page: Page) -> Result<Html<String>, crate::Error> {
    page.render(
        "styleguide.html",
        &serde_json::json!({
            "sample_time": "2026-11-29T18:01:00Z",
            "sample_day": "2026-12-05",
            "rows": [
                { "name": "Havregryn, eko, 1,5 kg", "quantity": "3", "price": "42.90", "total": "128.70" },
                { "name": "Rapsolja, kallpressad, 1 l", "quantity": "1", "price": "59.00", "total": "59.00" },
                { "name": "Morötter, lösvikt", "quantity": "1.245", "price": "18.50", "total": "23.03" },
            ],
            "total": "210.73",
            "sample_errors": [
                { "field": "sg-email", "message": page.t("styleguide-error-email") },
            ],
        }),
    )
}

async fn not_found() -> Response {
    crate::error::error_response(ErrorKind::NotFound, None)
}

/// Wraps a service's routes with the kit: health, metrics, static files, sessions, language,
/// error pages, security headers, request ids, tracing, timeouts and the body limit. The
/// service's routes are mounted under its base path (`/` for coop-sso, `/pos` for coop-pos).
pub fn build(kit: &Kit, routes: Router) -> Router {
    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(kit.clone());
    let inner = routes
        .route("/static/kit.css", get(kit_css))
        .merge(
            Router::new()
                .route("/static/theme.css", get(theme_css))
                .route("/static/logo", get(logo))
                .route("/styleguide", get(styleguide))
                .with_state(kit.clone()),
        )
        .merge(probes.clone())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            kit.session.clone(),
            session::session_layer,
        ));
    let base = kit.service.base_path();
    let mounted = if base == "/" {
        inner
    } else {
        // `/pos/` is where links and the post-logout redirect point; nest serves `/pos`.
        let home = base.clone();
        Router::new()
            .nest(&base, inner)
            .route(
                &format!("{base}/"),
                get(move || async move { axum::response::Redirect::permanent(&home) }),
            )
            .merge(probes)
            .fallback(not_found)
    };
    let span_request_id = |req: &Request| {
        let id = req
            .extensions()
            .get::<RequestId>()
            .and_then(|i| i.header_value().to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let route = req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map_or("(unmatched)", |p| p.as_str())
            .to_owned();
        // `member` and `client_id` are filled in by the sign-in extractors; under journald
        // every field becomes a journal field of each line logged in the request.
        tracing::info_span!(
            "request",
            method = %req.method(),
            route,
            request_id = id,
            member = tracing::field::Empty,
            client_id = tracing::field::Empty,
        )
    };
    let inner_stack = mounted
        .layer(middleware::from_fn(run_to_completion))
        .layer(middleware::from_fn_with_state(kit.clone(), render_errors))
        .layer(middleware::from_fn_with_state(kit.clone(), choose_lang));
    with_security_headers(inner_stack)
        .layer(middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(session::FORM_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(span_request_id))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// A bound listener; tests bind `127.0.0.1:0` and read the port.
#[derive(Debug)]
pub enum Listener {
    Tcp(tokio::net::TcpListener),
    /// A socket we made; its file is removed when serving ends.
    Unix(tokio::net::UnixListener, std::path::PathBuf),
    /// A socket systemd made and keeps.
    InheritedUnix(tokio::net::UnixListener),
}

impl Listener {
    /// The socket systemd passed (socket activation: `LISTEN_FDS`, the first one), else a new
    /// one bound to `addr`. Tests pass a bound socket the same way, so there is no window in
    /// which another process can take the port.
    pub async fn inherited_or_bind(addr: &ListenAddr) -> anyhow::Result<Self> {
        let mut fds = listenfd::ListenFd::from_env();
        if fds.len() > 0 {
            if let Ok(Some(l)) = fds.take_tcp_listener(0) {
                l.set_nonblocking(true)?;
                tracing::info!("using the TCP socket passed in LISTEN_FDS");
                return Ok(Self::Tcp(tokio::net::TcpListener::from_std(l)?));
            }
            if let Ok(Some(l)) = fds.take_unix_listener(0) {
                l.set_nonblocking(true)?;
                tracing::info!("using the Unix socket passed in LISTEN_FDS");
                return Ok(Self::InheritedUnix(tokio::net::UnixListener::from_std(l)?));
            }
            anyhow::bail!(
                "LISTEN_FDS is set, but its first socket is not a listening TCP or Unix socket"
            );
        }
        Self::bind(addr).await
    }

    pub async fn bind(addr: &ListenAddr) -> anyhow::Result<Self> {
        match addr {
            ListenAddr::Tcp(a) => Ok(Self::Tcp(
                tokio::net::TcpListener::bind(a)
                    .await
                    .with_context(|| format!("listening on {a}"))?,
            )),
            ListenAddr::Unix(p) => {
                // A socket left by a crashed run would make bind fail.
                if p.exists() {
                    std::fs::remove_file(p)
                        .with_context(|| format!("removing stale socket {}", p.display()))?;
                }
                let l = tokio::net::UnixListener::bind(p)
                    .with_context(|| format!("listening on {}", p.display()))?;
                // nginx runs as another user: it must be able to connect, whatever umask the
                // unit sets. The socket is no more open than a TCP port on loopback; its
                // folder decides who reaches it.
                let open =
                    <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o666);
                std::fs::set_permissions(p, open)
                    .with_context(|| format!("opening {} to nginx", p.display()))?;
                Ok(Self::Unix(l, p.clone()))
            }
        }
    }

    pub fn local_addr(&self) -> String {
        match self {
            Listener::Tcp(l) => l.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            Listener::Unix(_, p) => format!("unix:{}", p.display()),
            Listener::InheritedUnix(l) => l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| format!("unix:{}", p.display())))
                .unwrap_or_else(|| "unix:(inherited)".into()),
        }
    }
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: Listener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    match listener {
        Listener::Tcp(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await?,
        Listener::Unix(l, path) => {
            let r = axum::serve(l, app).with_graceful_shutdown(shutdown).await;
            let _ = std::fs::remove_file(path);
            r?;
        }
        Listener::InheritedUnix(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await?,
    }
    Ok(())
}

/// Resolves on SIGTERM (systemd stop) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_unix_socket_is_reachable_by_nginx_and_replaces_a_stale_one() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("http.sock");
        std::fs::write(&path, "left by a crash").unwrap();
        // As under a unit with UMask=0077: the socket would be the service's alone.
        let listener = Listener::bind(&ListenAddr::Unix(path.clone()))
            .await
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666);
        assert_eq!(listener.local_addr(), format!("unix:{}", path.display()));
    }
}
