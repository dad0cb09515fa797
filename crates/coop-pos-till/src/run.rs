//! `coop-pos till`: the till process. It opens its store, gets the co-op's settings from
//! central (or uses the ones it kept), serves its UI to the kiosk browser, and in the background
//! uploads its journal and pulls the catalogue and members, forever, whatever the network does.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::checkout::TillSettings;
use crate::store::Store;
use crate::sync::{self, Feed, SyncError, Tokens};

/// The till's own config file (`/etc/cooperage/till.json`), which the till's NixOS module
/// renders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TillConfig {
    /// The till's id at coop-sso (its token's subject is `till:<id>`).
    pub till_id: String,
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
    /// A file holding the till's access token.
    pub token_file: PathBuf,
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

/// One round of the background work: settings, cashiers, catalogue, members, wallet holds to
/// give back, and the upload.
pub async fn sync_round(
    store: &Store,
    cfg: &TillConfig,
    client: &reqwest::Client,
    tokens: &dyn Tokens,
    wallet: Option<&dyn crate::wallet::Wallet>,
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
    // Holds of sales that did not happen, given back now that central may answer.
    if let Ok(releases) = store.releases().await {
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
    match sync::upload(store, client, &cfg.central_url, tokens).await {
        Ok(u) if u.accepted > 0 => {
            tracing::info!(accepted = u.accepted, last = u.last_seq, "sales uploaded");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "sales not uploaded; they wait on the till"),
    }
}

/// Runs the till until SIGTERM.
pub async fn run(cfg: TillConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cfg.state_directory)
        .with_context(|| format!("creating {}", cfg.state_directory.display()))?;
    let path = cfg.state_directory.join("till.sqlite");
    let client = sync::client();
    let tokens = TokenFile(cfg.token_file.clone());
    let mut store = Store::open(&path, 2).await?;
    // Central's settings, or the ones kept from last time; at first start, wait for them.
    let settings = loop {
        if let Ok(s) = fetch_settings(&client, &cfg.central_url, &tokens).await {
            store
                .set_setting(SETTINGS_KEY, &serde_json::to_value(&s)?)
                .await?;
            break s;
        }
        if let Some(v) = store.setting(SETTINGS_KEY).await? {
            break serde_json::from_value::<TillSettings>(v)?;
        }
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
    let lang = coop_web::Lang::parse(&cfg.lang).map_err(|e| anyhow::anyhow!("lang: {e}"))?;
    let mut app = crate::web::TillApp::new(store.clone(), settings, &cfg.till_id, lang)?;
    let wallet: Arc<dyn crate::wallet::Wallet> = Arc::new(crate::wallet::Central::new(
        &cfg.central_url,
        Arc::new(tokens.clone()),
    ));
    app.wallet = Some(wallet.clone());
    let key = coop_web::session::load_or_create_key(&cfg.state_directory)?;
    let origin = format!("http://{}", cfg.listen);
    let session = Arc::new(coop_web::session::SessionConfig::new(
        key, "till", false, origin,
    ));
    let router = crate::web::router(app, session);
    {
        let (store, cfg, tokens) = (store.clone(), cfg.clone(), tokens.clone());
        tokio::spawn(async move {
            loop {
                sync_round(&store, &cfg, &client, &tokens, Some(wallet.as_ref())).await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.listen))?;
    tracing::info!(listen = %cfg.listen, till = %cfg.till_id, "the till is serving");
    axum::serve(listener, router)
        .with_graceful_shutdown(coop_web::app::shutdown_signal())
        .await?;
    Ok(())
}
