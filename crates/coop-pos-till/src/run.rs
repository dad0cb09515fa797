//! `coop-pos till`: the till process. It opens its store, gets the co-op's settings from
//! central (or uses the ones it kept), serves its UI to the kiosk browser, and in the background
//! uploads its journal and pulls the catalogue and members, forever, whatever the network does.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::checkout::TillSettings;
use crate::store::Store;
use crate::sync::{self, Feed, SyncError, Tokens};

/// The till's own config file (`/etc/cooperage/till.json`), which the till's NixOS module
/// renders.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TillConfig {
    /// The till's id at coop-sso (its token's subject is `till:<id>`), with `token_file`. A till
    /// that pairs itself (`sso_url`) learns its id from its pairing.
    #[serde(default)]
    pub till_id: Option<String>,
    /// Where the store lives (`StateDirectory`).
    pub state_directory: PathBuf,
    /// Where the UI listens for the kiosk browser.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The language the till starts in (`sv`, `en`).
    #[serde(default = "default_lang")]
    pub lang: String,
    /// coop-pos central, e.g. `https://coop.example.org/pos`.
    pub central_url: String,
    /// coop-ims's feed, e.g. `https://coop.example.org/ims/api/feed`.
    pub catalogue_feed_url: String,
    /// coop-sso's member feed; without it, members are not known offline.
    #[serde(default)]
    pub member_feed_url: Option<String>,
    /// coop-sso, e.g. `https://coop.example.org/sso`: the till pairs itself through its device
    /// grant on first start (showing the code on its screen) and keeps its tokens current.
    #[serde(default)]
    pub sso_url: Option<String>,
    /// Instead of pairing: a file holding an access token (a test's, or one given by hand).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// The receipt printer and drawer, the scale, the payment bridge.
    #[serde(default)]
    pub devices: crate::devices::DevicesConfig,
}

impl TillConfig {
    /// Checked at start and by `coop-pos till check-config`: one way to get tokens, an id to go
    /// with a token file, addresses that are addresses, a language the till speaks.
    ///
    /// # Errors
    /// What is wrong, naming the key.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.state_directory.is_absolute(),
            "till.json: state_directory must be an absolute path, not `{}`",
            self.state_directory.display()
        );
        self.listen.parse::<std::net::SocketAddr>().map_err(|_| {
            anyhow::anyhow!(
                "till.json: listen `{}` is not an address and port like 127.0.0.1:8180",
                self.listen
            )
        })?;
        coop_web::Lang::parse(&self.lang)
            .map_err(|e| anyhow::anyhow!("till.json: lang `{}`: {e}", self.lang))?;
        let urls = [
            ("central_url", Some(&self.central_url)),
            ("catalogue_feed_url", Some(&self.catalogue_feed_url)),
            ("member_feed_url", self.member_feed_url.as_ref()),
            ("sso_url", self.sso_url.as_ref()),
        ];
        for (key, url) in urls {
            let Some(url) = url else { continue };
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| anyhow::anyhow!("till.json: {key} `{url}`: {e}"))?;
            anyhow::ensure!(
                matches!(parsed.scheme(), "https" | "http")
                    && parsed.host_str().is_some()
                    && parsed.query().is_none()
                    && parsed.username().is_empty(),
                "till.json: {key} `{url}` must be an http(s) address of the co-op's server, with no query or user"
            );
        }
        self.devices.check()?;
        match (&self.sso_url, &self.token_file, &self.till_id) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => Ok(()),
            (Some(_), None, Some(_)) => anyhow::bail!(
                "till.json: a till that pairs through sso_url learns its id: leave till_id out"
            ),
            (None, Some(_), None) => {
                anyhow::bail!("till.json: a token_file needs the till's till_id beside it")
            }
            (Some(_), Some(_), _) => {
                anyhow::bail!("till.json: pair through sso_url or use a token_file, not both")
            }
            (None, None, _) => anyhow::bail!(
                "till.json: the till needs sso_url (to pair through coop-sso) or a token_file"
            ),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8180".into()
}

fn default_lang() -> String {
    "sv".into()
}

/// The token, read from its file at each use, so that a new one is taken without a restart.
#[derive(Debug, Clone)]
pub struct TokenFile(pub PathBuf);

impl Tokens for TokenFile {
    fn bearer(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, SyncError>> + Send + '_>>
    {
        Box::pin(async move {
            tokio::fs::read_to_string(&self.0)
                .await
                .map(|t| t.trim().to_owned())
                .map_err(|e| SyncError::Unreachable(format!("the token file: {e}")))
        })
    }
}

const SETTINGS_KEY: &str = "till_settings";

/// Central's settings for this till, fetched now.
pub async fn fetch_settings(
    client: &reqwest::Client,
    central: &str,
    tokens: &dyn Tokens,
) -> Result<TillSettings, SyncError> {
    let token = tokens.bearer().await?;
    let res = client
        .get(format!(
            "{}/api/till/settings",
            central.trim_end_matches('/')
        ))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| SyncError::Unreachable(e.to_string()))?;
    let status = res.status();
    let body = res
        .text()
        .await
        .map_err(|e| SyncError::Unreachable(e.to_string()))?;
    if !status.is_success() {
        return Err(SyncError::Refused {
            status: status.as_u16(),
            body: body.chars().take(500).collect(),
        });
    }
    serde_json::from_str(&body).map_err(|e| SyncError::Answer(e.to_string()))
}

/// Who may unlock the till, with their PIN hashes, fetched now.
pub async fn fetch_cashiers(
    client: &reqwest::Client,
    central: &str,
    tokens: &dyn Tokens,
) -> Result<Vec<crate::store::Cashier>, SyncError> {
    #[derive(Deserialize)]
    struct Row {
        sub: String,
        name: String,
        pin_hash: String,
        manager: bool,
    }
    let token = tokens.bearer().await?;
    let res = client
        .get(format!(
            "{}/api/till/cashiers",
            central.trim_end_matches('/')
        ))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| SyncError::Unreachable(e.to_string()))?;
    let status = res.status();
    let body = res
        .text()
        .await
        .map_err(|e| SyncError::Unreachable(e.to_string()))?;
    if !status.is_success() {
        return Err(SyncError::Refused {
            status: status.as_u16(),
            body: body.chars().take(500).collect(),
        });
    }
    let rows: Vec<Row> =
        serde_json::from_str(&body).map_err(|e| SyncError::Answer(e.to_string()))?;
    Ok(rows
        .into_iter()
        .map(|r| crate::store::Cashier {
            sub: r.sub,
            name: r.name,
            pin_hash: r.pin_hash,
            manager: r.manager,
        })
        .collect())
}

/// What the till fetches: settings and cashiers from central, the catalogue and the members
/// from their feeds. The till runs it in a loop of its own, apart from [`push_round`], so a
/// service that is slow to answer (up to the client's timeout) never holds the sales back.
pub async fn pull_round(
    store: &Store,
    cfg: &TillConfig,
    client: &reqwest::Client,
    tokens: &dyn Tokens,
) {
    match fetch_settings(client, &cfg.central_url, tokens).await {
        Ok(s) => {
            if let Ok(v) = serde_json::to_value(&s) {
                let _ = store.set_setting(SETTINGS_KEY, &v).await;
            }
        }
        Err(e) => tracing::info!(error = %e, "settings not refreshed"),
    }
    match fetch_cashiers(client, &cfg.central_url, tokens).await {
        Ok(c) => {
            if let Err(e) = store.set_cashiers(&c).await {
                tracing::warn!(error = %e, "cashiers not stored");
            }
        }
        Err(e) => tracing::info!(error = %e, "cashiers not refreshed"),
    }
    if let Err(e) = sync::pull(
        store,
        client,
        &cfg.catalogue_feed_url,
        Feed::Catalogue,
        tokens,
    )
    .await
    {
        tracing::info!(error = %e, "catalogue not refreshed");
    }
    if let Some(url) = &cfg.member_feed_url {
        if let Err(e) = sync::pull(store, client, url, Feed::Members, tokens).await {
            tracing::info!(error = %e, "members not refreshed");
        }
    }
}

/// What the till sends: wallet holds of sales that did not happen, the clockings and the sales.
pub async fn push_round(
    store: &Store,
    cfg: &TillConfig,
    client: &reqwest::Client,
    tokens: &dyn Tokens,
    wallet: Option<&dyn crate::wallet::Wallet>,
) {
    // Holds of sales that did not happen, given back now that central may answer.
    if let Ok(releases) = store.releases(chrono::Duration::minutes(1)).await {
        if !releases.is_empty() {
            if let Some(w) = wallet {
                for sale in releases {
                    if w.release(sale).await {
                        let _ = store.released(sale).await;
                    }
                }
            }
        }
    }
    if let Err(e) = sync::upload_clock(store, client, &cfg.central_url, tokens).await {
        tracing::info!(error = %e, "clockings not uploaded; they wait on the till");
    }
    match sync::upload(store, client, &cfg.central_url, tokens).await {
        Ok(u) if u.accepted > 0 => {
            tracing::info!(accepted = u.accepted, last = u.last_seq, "sales uploaded");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "sales not uploaded; they wait on the till"),
    }
}

/// Runs the till until SIGTERM. Under systemd it says `READY=1` once its screen answers and
/// keeps the watchdog fed while it does (see [`watchdog`]).
pub async fn run(cfg: TillConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cfg.state_directory)
        .with_context(|| format!("creating {}", cfg.state_directory.display()))?;
    cfg.check()?;
    let path = cfg.state_directory.join("till.sqlite");
    let client = sync::client();
    let mut store = Store::open(&path, 2).await?;
    let lang = coop_web::Lang::parse(&cfg.lang).map_err(|e| anyhow::anyhow!("lang: {e}"))?;
    let serving = Arc::new(AtomicBool::new(false));
    tokio::spawn(watchdog(cfg.listen.clone(), serving.clone()));
    // Until the till can sell, its screen says why (the kiosk browser shows it). The till is
    // "up" for systemd once that screen answers, so the kiosk started after it finds a page.
    let screen = HoldingScreen::start(&cfg.listen, lang, serving.clone()).await?;
    if let Err(e) = coop_web::systemd::notify("READY=1") {
        tracing::warn!(error = %e, "could not tell systemd the till is up");
    }
    // Paired through coop-sso (showing the code until a manager pairs it), or a token file.
    let (tokens, till_id): (Arc<dyn Tokens>, String) = match (&cfg.sso_url, &cfg.token_file) {
        (Some(sso), _) => {
            let device = Arc::new(crate::pairing::DeviceTokens::load(store.clone(), sso).await?);
            let id = match device.till_id().await {
                Some(id) => id,
                None => pair_on_screen(&device, &screen).await,
            };
            (device, id)
        }
        (None, Some(file)) => (
            Arc::new(TokenFile(file.clone())),
            cfg.till_id.clone().unwrap_or_default(),
        ),
        (None, None) => unreachable!("checked above"),
    };
    let tokens_ref: &dyn Tokens = tokens.as_ref();
    // Central's settings, or the ones kept from last time; at first start, wait for them.
    let settings = loop {
        if let Ok(s) = fetch_settings(&client, &cfg.central_url, tokens_ref).await {
            store
                .set_setting(SETTINGS_KEY, &serde_json::to_value(&s)?)
                .await?;
            break s;
        }
        if let Some(v) = store.setting(SETTINGS_KEY).await? {
            break serde_json::from_value::<TillSettings>(v)?;
        }
        screen.show("till-waiting-title", "till-waiting-settings", None);
        tracing::warn!(central = %cfg.central_url, "no settings yet: waiting for central");
        tokio::time::sleep(Duration::from_secs(10)).await;
    };
    let minor = settings
        .currency()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .minor_units();
    if minor != 2 {
        store = Store::open(&path, minor).await?;
    }
    let mut app = crate::web::TillApp::new(store.clone(), settings, &till_id, lang)?;
    let wallet: Arc<dyn crate::wallet::Wallet> = Arc::new(crate::wallet::Central::new(
        &cfg.central_url,
        tokens.clone(),
    ));
    app.wallet = Some(wallet.clone());
    app.devices = Arc::new(crate::devices::Devices::new(&cfg.devices));
    if let Some(url) = &cfg.devices.bridge_url {
        let token = match &cfg.devices.bridge_token_file {
            Some(f) => Some(
                std::fs::read_to_string(f)
                    .with_context(|| {
                        format!("till.json: devices.bridge_token_file {}", f.display())
                    })?
                    .trim_end_matches(['\n', '\r'])
                    .to_owned(),
            ),
            None => None,
        };
        app.terminal = Arc::new(crate::devices::BridgeTerminal::new(url, minor, token));
    }
    let key = coop_web::session::load_or_create_key(&cfg.state_directory)?;
    let origin = format!("http://{}", cfg.listen);
    let session = Arc::new(coop_web::session::SessionConfig::new(
        key, "till", false, origin,
    ));
    tokio::spawn(crate::web::run_pole(app.clone()));
    if let Some(address) = &cfg.devices.display_listen {
        // A second screen on the network: the customer display alone.
        // A second screen that cannot be served never stops the till from selling.
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => {
                let display = crate::web::display_router(app.clone(), session.clone());
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, display).await {
                        tracing::error!(error = %e, "the customer display's listener stopped");
                    }
                });
            }
            Err(e) => tracing::error!(
                error = %e,
                address = %address,
                "the customer display cannot listen (devices.display_listen); the till goes on without it"
            ),
        }
    }
    let router = crate::web::router(app, session);
    {
        let (store, cfg, tokens) = (store.clone(), cfg.clone(), tokens.clone());
        // Two loops: the sales go up even while a feed is slow to answer.
        {
            let (store, cfg, tokens, client) =
                (store.clone(), cfg.clone(), tokens.clone(), client.clone());
            tokio::spawn(async move {
                loop {
                    pull_round(&store, &cfg, &client, tokens.as_ref()).await;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            });
        }
        tokio::spawn(async move {
            loop {
                push_round(
                    &store,
                    &cfg,
                    &client,
                    tokens.as_ref(),
                    Some(wallet.as_ref()),
                )
                .await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
    }
    // The holding screen gives the address over to the till's own screen.
    screen.stop().await?;
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.listen))?;
    serving.store(true, Ordering::SeqCst);
    tracing::info!(listen = %cfg.listen, till = %till_id, "the till is serving");
    axum::serve(listener, router)
        .with_graceful_shutdown(coop_web::app::shutdown_signal())
        .await?;
    Ok(())
}

/// Feeds systemd's watchdog (when `WatchdogSec` is set) while the till is well: its screen
/// answered (any status: 503 while pairing is an answer) within the last half of `WatchdogSec`,
/// or it has no screen up for a moment between the holding screen and its own. The screen is
/// asked every quarter of `WatchdogSec`, so one slow answer does not cost the till its life; a
/// till whose web server hangs stops feeding it, and systemd restarts it.
async fn watchdog(listen: String, serving: Arc<AtomicBool>) {
    let Some(timeout) = coop_web::systemd::watchdog_timeout() else {
        return;
    };
    watch(
        &format!("http://{listen}/healthz"),
        &serving,
        timeout,
        || {
            let _ = coop_web::systemd::notify("WATCHDOG=1");
        },
    )
    .await;
}

/// Every quarter of `timeout`, calls `feed` if the till is well (see [`watchdog`]); forever.
async fn watch(url: &str, serving: &AtomicBool, timeout: Duration, feed: impl Fn()) {
    let every = timeout / 4;
    let probe = reqwest::Client::builder()
        .timeout(every.min(Duration::from_secs(5)))
        .no_proxy()
        .build()
        .expect("a plain HTTP client");
    let mut answered: Option<tokio::time::Instant> = None;
    loop {
        let asked = tokio::time::Instant::now();
        if !serving.load(Ordering::SeqCst) || probe.get(url).send().await.is_ok() {
            answered = Some(asked);
        }
        if answered.is_some_and(|a| a.elapsed() < timeout / 2) {
            feed();
        } else {
            tracing::warn!(%url, "the till's screen does not answer: not feeding the watchdog");
        }
        tokio::time::sleep_until(asked + every).await;
    }
}

/// The screen the till shows before it can sell: its pairing code, or that it waits for the
/// server. The page reloads itself every few seconds (no script needed), so the kiosk moves on
/// to the till's own screen by itself; `/healthz` answers 503 meanwhile.
pub struct HoldingScreen {
    lang: coop_web::Lang,
    shown: Arc<std::sync::Mutex<(String, String)>>,
    t: Arc<coop_web::i18n::Translations>,
    done: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for HoldingScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HoldingScreen")
            .field("lang", &self.lang)
            .finish_non_exhaustive()
    }
}

impl HoldingScreen {
    /// Serves the screen on `listen`; `serving` is true while it does.
    ///
    /// # Errors
    /// The address cannot be bound, or the translations do not load.
    pub async fn start(
        listen: &str,
        lang: coop_web::Lang,
        serving: Arc<AtomicBool>,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        Self::serve(listener, lang, serving)
    }

    /// Serves the screen on a bound listener.
    ///
    /// # Errors
    /// The translations do not load.
    pub fn serve(
        listener: tokio::net::TcpListener,
        lang: coop_web::Lang,
        serving: Arc<AtomicBool>,
    ) -> anyhow::Result<Self> {
        use axum::response::Html;
        let t = Arc::new(coop_web::i18n::Translations::new(
            crate::web::TRANSLATIONS,
            lang,
        )?);
        let shown = Arc::new(std::sync::Mutex::new((
            t.text(lang, "till-waiting-title"),
            format!("<p>{}</p>", escape(&t.text(lang, "till-waiting-starting"))),
        )));
        let skip = t.text(lang, "skip-link");
        let page = {
            let shown = shown.clone();
            move || {
                let (title, body) = shown.lock().expect("the screen").clone();
                Html(format!(
                    "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
                     <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                     <meta http-equiv=\"refresh\" content=\"5\"><title>{t}</title>\
                     <style>body{{font:1.5rem system-ui,sans-serif;margin:2rem;background:#fff;color:#111;overflow-wrap:anywhere}}\
                     .pair-code{{font-size:3rem;font-weight:bold;letter-spacing:.1em;overflow-wrap:anywhere}}\
                     main{{outline:none}}.skip-link{{position:absolute;left:-100vw}}.skip-link:focus{{left:1rem;top:1rem;background:#fff;color:#111;outline:3px solid #111}}\
                     </style></head>\
                     <body><a class=\"skip-link\" href=\"#main\">{skip}</a>\
                     <main id=\"main\" tabindex=\"-1\"><h1>{t}</h1>{body}</main></body></html>",
                    lang.code(),
                    t = escape(&title),
                    skip = escape(&skip),
                ))
            }
        };
        let router = axum::Router::new()
            .route("/", axum::routing::get(move || std::future::ready(page())))
            // Not ready to sell: a supervisor waits.
            .route(
                "/healthz",
                axum::routing::get(|| async {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "starting")
                }),
            )
            .fallback(|| async { axum::response::Redirect::to("/") });
        serving.store(true, Ordering::SeqCst);
        let (done, wait) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = wait.await;
                })
                .await;
            serving.store(false, Ordering::SeqCst);
            served
        });
        Ok(Self {
            lang,
            shown,
            t,
            done,
            server,
        })
    }

    /// Shows the message `body` under `title` (Fluent ids), with `code` (and the address to
    /// type it at) in large letters.
    pub fn show(&self, title: &str, body: &str, code: Option<(&str, &str)>) {
        let mut html = format!("<p>{}</p>", escape(&self.t.text(self.lang, body)));
        if let Some((code, uri)) = code {
            use std::fmt::Write as _;
            let _ = write!(
                html,
                "<p class=\"pair-code\" id=\"pair-code\">{}</p><p>{}</p>",
                escape(code),
                escape(uri)
            );
        }
        *self.shown.lock().expect("the screen") = (self.t.text(self.lang, title), html);
    }

    /// Stops serving, giving the address back.
    ///
    /// # Errors
    /// The server failed.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.done.send(());
        self.server.await??;
        Ok(())
    }
}

/// Until a manager pairs the till, its screen shows the code to type at coop-sso's `/device`.
/// Answers the till's id.
async fn pair_on_screen(device: &crate::pairing::DeviceTokens, screen: &HoldingScreen) -> String {
    screen.show("till-pair-title", "till-pair-asking", None);
    let name = hostname();
    let show = |p: Option<&crate::pairing::Pending>| match p {
        Some(p) => screen.show(
            "till-pair-title",
            "till-pair-intro",
            Some((&p.user_code, &p.verification_uri)),
        ),
        None => screen.show("till-pair-title", "till-pair-asking", None),
    };
    device.pair(&name, &show).await
}

/// The machine's name, which the manager sees beside the code.
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "till".into())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `coop-pos till-demo-sales`: a few weeks of demo sales in the till's journal (see
/// [`crate::demo`]), once its settings and catalogue have arrived; the running till uploads
/// them. Only for `cargo xtask demo`.
pub async fn demo_sales(cfg: TillConfig, days: u32) -> anyhow::Result<()> {
    let store = Store::open(&cfg.state_directory.join("till.sqlite"), 2).await?;
    let started = std::time::Instant::now();
    let (settings, till_id) = loop {
        let settings = store.setting(SETTINGS_KEY).await?;
        let paired = store.setting("pairing").await?;
        let till = cfg
            .till_id
            .clone()
            .or_else(|| paired.and_then(|p| p["till_id"].as_str().map(str::to_owned)));
        // The catalogue, and (for a members-only co-op) the members, have arrived.
        let members = !store.active_members(1).await?.is_empty();
        if let (Some(s), Some(t), true) = (settings, till, store.product_count().await? > 0) {
            let s: TillSettings = serde_json::from_value(s)?;
            if members || !s.member_only {
                break (s, t);
            }
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "the till has no settings or catalogue after two minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let tz: chrono_tz::Tz = settings.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let made = crate::demo::sales(&store, &settings, &till_id, days, today).await?;
    eprintln!("coop-pos till: {made} demo sales over {days} days");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// How often `watch` feeds the watchdog in `for_` against `url`.
    async fn feeds(url: &str, serving: bool, for_: Duration) -> usize {
        let fed = Arc::new(AtomicUsize::new(0));
        let serving = AtomicBool::new(serving);
        let counter = fed.clone();
        let _ = tokio::time::timeout(
            for_,
            watch(url, &serving, Duration::from_millis(400), move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .await;
        fed.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn the_watchdog_is_fed_only_while_the_screen_answers() {
        // A screen that answers, even 503 (pairing): fed.
        let answering = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/healthz", answering.local_addr().unwrap());
        tokio::spawn(async move {
            let app = axum::Router::new().route(
                "/healthz",
                axum::routing::get(|| async { axum::http::StatusCode::SERVICE_UNAVAILABLE }),
            );
            axum::serve(answering, app).await
        });
        assert!(feeds(&url, true, Duration::from_secs(1)).await >= 1);

        // A screen that takes the connection and never answers (a hung server): not fed.
        let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/healthz", hung.local_addr().unwrap());
        let _held = tokio::spawn(async move {
            let mut kept = Vec::new();
            loop {
                if let Ok((s, _)) = hung.accept().await {
                    kept.push(s);
                }
            }
        });
        assert_eq!(feeds(&url, true, Duration::from_millis(450)).await, 0);

        // Nothing listening while the till is between screens (not serving): fed.
        let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/healthz", gone.local_addr().unwrap());
        drop(gone);
        assert!(feeds(&url, false, Duration::from_secs(1)).await >= 1);
        // ... but while it should serve, a refused connection is not well.
        assert_eq!(feeds(&url, true, Duration::from_millis(450)).await, 0);
    }
}
