//! The suite's services (one table), where each listens, and each one's resolved section.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use coop_domain::Role;
use serde::{Deserialize, Serialize};
use url::Url;

use super::secrets::{DatabaseUrl, SecretFile};
use super::{parse_url, ConfigError};

/// The services of the suite. The names are the keys of `services` in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceName {
    Sso,
    Pos,
    Ims,
    Finance,
    BuyersClub,
}

/// What the suite knows of one service.
#[derive(Debug)]
pub struct ServiceInfo {
    pub name: ServiceName,
    /// The key in `services` and the suffix of the database name.
    pub key: &'static str,
    /// The URL path segment under the co-op's public URL (`sso` owns the root).
    pub path_segment: &'static str,
    /// The binary, and the OIDC client id coop-sso registers for the service.
    pub binary: &'static str,
    pub default_port: u16,
    /// Who gets this service in the header's links: a member with any of these roles.
    pub used_by: &'static [Role],
}

/// The suite, in one table: adding a service is adding a row (and its enum variant).
pub const SERVICES: [ServiceInfo; 5] = [
    ServiceInfo {
        name: ServiceName::Sso,
        key: "sso",
        path_segment: "",
        binary: "coop-sso",
        default_port: 8101,
        used_by: &[Role::Member, Role::Admin, Role::Bookkeeper],
    },
    ServiceInfo {
        name: ServiceName::Pos,
        key: "pos",
        path_segment: "pos",
        binary: "coop-pos",
        default_port: 8102,
        used_by: &[Role::Cashier, Role::Manager, Role::Admin],
    },
    ServiceInfo {
        name: ServiceName::Ims,
        key: "ims",
        path_segment: "ims",
        binary: "coop-ims",
        default_port: 8103,
        used_by: &[Role::Manager, Role::Cashier, Role::Admin],
    },
    ServiceInfo {
        name: ServiceName::Finance,
        key: "finance",
        path_segment: "finance",
        binary: "coop-finance",
        default_port: 8104,
        used_by: &[Role::Member, Role::Admin, Role::Bookkeeper],
    },
    ServiceInfo {
        name: ServiceName::BuyersClub,
        key: "buyers_club",
        path_segment: "buyers-club",
        binary: "coop-buyers-club",
        default_port: 8105,
        used_by: &[Role::Member, Role::Admin, Role::Bookkeeper],
    },
];

impl ServiceName {
    pub const ALL: [ServiceName; 5] = [
        SERVICES[0].name,
        SERVICES[1].name,
        SERVICES[2].name,
        SERVICES[3].name,
        SERVICES[4].name,
    ];

    /// This service's row of [`SERVICES`].
    pub const fn info(self) -> &'static ServiceInfo {
        &SERVICES[self as usize]
    }

    /// The key in `services` and the suffix of the database name.
    pub fn key(self) -> &'static str {
        self.info().key
    }

    /// The URL path segment under the co-op's public URL (`sso` owns the root).
    pub fn path_segment(self) -> &'static str {
        self.info().path_segment
    }

    pub fn binary(self) -> &'static str {
        self.info().binary
    }

    pub fn default_port(self) -> u16 {
        self.info().default_port
    }

    pub fn database_name(self) -> String {
        format!("coop_{}", self.key())
    }

    /// Who gets this service in the header's links: a member with any of these roles.
    pub fn used_by(self) -> &'static [Role] {
        self.info().used_by
    }

    /// The OIDC client id coop-sso registers for this service.
    pub fn client_id(self) -> String {
        self.binary().to_owned()
    }

    pub(super) fn from_key(key: &str) -> Option<Self> {
        SERVICES.iter().find(|s| s.key == key).map(|s| s.name)
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Where a service listens: a TCP address or a Unix socket (`unix:/run/x.sock`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl ListenAddr {
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err(format!(
                    "unix socket path must be absolute, got `{}`",
                    path.display()
                ));
            }
            return Ok(Self::Unix(path));
        }
        s.parse::<SocketAddr>().map(Self::Tcp).map_err(|_| {
            format!("expected `host:port` (e.g. 127.0.0.1:8101) or `unix:/path`, got `{s}`")
        })
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Tcp(a) => write!(f, "{a}"),
            ListenAddr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// The keys every service section may carry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCommon {
    #[serde(default)]
    pub(super) listen: Option<String>,
    #[serde(default)]
    pub(super) database_url: Option<String>,
    #[serde(default)]
    pub(super) public_url: Option<String>,
    #[serde(default)]
    pub(super) state_directory: Option<PathBuf>,
    #[serde(default)]
    pub(super) log_filter: Option<String>,
    #[serde(default)]
    pub(super) client_secret_file: Option<String>,
    #[serde(default)]
    pub(super) trusted_clients: Option<Vec<String>>,
}

pub(super) const COMMON_KEYS: [&str; 7] = [
    "listen",
    "database_url",
    "public_url",
    "state_directory",
    "log_filter",
    "client_secret_file",
    "trusted_clients",
];

/// The public client of the tills (OAuth device grant), beside the suite's own clients.
pub const TILL_CLIENT_ID: &str = "coop-till";

/// One service's resolved section: common keys with their defaults applied.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceConfig {
    pub name: ServiceName,
    pub listen: ListenAddr,
    pub database_url: DatabaseUrl,
    pub public_url: Url,
    pub state_directory: PathBuf,
    pub log_filter: String,
    pub client_secret_file: Option<SecretFile>,
    /// The OIDC clients whose access tokens this service accepts (when the token's `aud` also
    /// names this service). Default: the suite's own services and the tills.
    pub trusted_clients: Vec<String>,
}

impl ServiceConfig {
    /// The path under which this service's routes are mounted (`/` or `/pos`).
    pub fn base_path(&self) -> String {
        let p = self.public_url.path().trim_end_matches('/');
        if p.is_empty() {
            "/".into()
        } else {
            p.to_owned()
        }
    }

    /// A URL of this service: `url("/auth/callback")`.
    pub fn url(&self, path: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// Cookies are `Secure` whenever the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

pub(super) fn resolve_service(
    name: ServiceName,
    raw: RawCommon,
    root: &Url,
    credentials: Option<&Path>,
    state_env: Option<&Path>,
) -> Result<ServiceConfig, ConfigError> {
    let key = name.key();
    let listen = match raw.listen {
        Some(s) => ListenAddr::parse(&s)
            .map_err(|e| ConfigError::invalid(format!("services.{key}.listen"), e))?,
        None => ListenAddr::Tcp(SocketAddr::from(([127, 0, 0, 1], name.default_port()))),
    };
    let database_url = match raw.database_url {
        Some(s) => DatabaseUrl::parse(&s)
            .map_err(|e| ConfigError::invalid(format!("services.{key}.database_url"), e))?,
        None => DatabaseUrl(format!(
            "postgres:///{}?host=/run/postgresql",
            name.database_name()
        )),
    };
    let public_url = if let Some(s) = raw.public_url {
        parse_url(&format!("services.{key}.public_url"), &s)?
    } else {
        let base = root.as_str().trim_end_matches('/');
        let seg = name.path_segment();
        let s = if seg.is_empty() {
            base.to_owned()
        } else {
            format!("{base}/{seg}")
        };
        parse_url(&format!("services.{key}.public_url"), &s)?
    };
    let state_directory = raw
        .state_directory
        .or_else(|| state_env.map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from(format!("/var/lib/{}", name.binary())));
    let log_filter = raw.log_filter.unwrap_or_else(|| "info".into());
    if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
        return Err(ConfigError::invalid(
            format!("services.{key}.log_filter"),
            format!("not a log filter (e.g. `info` or `info,coop_sso=debug`): `{log_filter}`"),
        ));
    }
    let trusted_clients = raw.trusted_clients.unwrap_or_else(|| {
        ServiceName::ALL
            .iter()
            .map(|s| s.client_id())
            .chain([TILL_CLIENT_ID.to_owned()])
            .collect()
    });
    if let Some(bad) = trusted_clients.iter().find(|c| c.trim().is_empty()) {
        return Err(ConfigError::invalid(
            format!("services.{key}.trusted_clients"),
            format!("a client id must not be empty, got {bad:?}"),
        ));
    }
    Ok(ServiceConfig {
        name,
        listen,
        database_url,
        public_url,
        state_directory,
        log_filter,
        trusted_clients,
        client_secret_file: raw.client_secret_file.as_deref().map(|f| {
            SecretFile::resolve(
                &format!("services.{key}.client_secret_file"),
                f,
                credentials,
            )
        }),
    })
}

impl Serialize for ListenAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
