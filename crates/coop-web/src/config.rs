//! The one co-op config file (`docs/config.md`): JSON + `COOPERAGE__*` environment overrides +
//! credential files. Parsed once at start into validated types; any bad key fails with its path.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use coop_domain::{Currency, MemberNumberFormat, Role, VatTable};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::i18n::Lang;

/// Why a config could not be loaded. The message names the key and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("config key `{path}`: {message}")]
    Invalid { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("secret file for `{key}` ({path}): {source}")]
    Secret {
        key: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ConfigError {
    fn invalid(path: impl Into<String>, message: impl fmt::Display) -> Self {
        Self::Invalid {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

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

impl ServiceName {
    pub const ALL: [ServiceName; 5] = [
        ServiceName::Sso,
        ServiceName::Pos,
        ServiceName::Ims,
        ServiceName::Finance,
        ServiceName::BuyersClub,
    ];

    /// The key in `services` and the suffix of the database name.
    pub fn key(self) -> &'static str {
        match self {
            ServiceName::Sso => "sso",
            ServiceName::Pos => "pos",
            ServiceName::Ims => "ims",
            ServiceName::Finance => "finance",
            ServiceName::BuyersClub => "buyers_club",
        }
    }

    /// The URL path segment under the co-op's public URL (`sso` owns the root).
    pub fn path_segment(self) -> &'static str {
        match self {
            ServiceName::Sso => "",
            ServiceName::BuyersClub => "buyers-club",
            other => other.key(),
        }
    }

    pub fn binary(self) -> &'static str {
        match self {
            ServiceName::Sso => "coop-sso",
            ServiceName::Pos => "coop-pos",
            ServiceName::Ims => "coop-ims",
            ServiceName::Finance => "coop-finance",
            ServiceName::BuyersClub => "coop-buyers-club",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            ServiceName::Sso => 8101,
            ServiceName::Pos => 8102,
            ServiceName::Ims => 8103,
            ServiceName::Finance => 8104,
            ServiceName::BuyersClub => 8105,
        }
    }

    pub fn database_name(self) -> String {
        format!("coop_{}", self.key())
    }

    /// Who gets this service in the header's links: a member with any of these roles.
    pub fn used_by(self) -> &'static [Role] {
        match self {
            ServiceName::Sso | ServiceName::Finance | ServiceName::BuyersClub => {
                &[Role::Member, Role::Admin, Role::Bookkeeper]
            }
            ServiceName::Pos => &[Role::Cashier, Role::Manager, Role::Admin],
            ServiceName::Ims => &[Role::Manager, Role::Cashier, Role::Admin],
        }
    }

    /// The OIDC client id coop-sso registers for this service.
    pub fn client_id(self) -> String {
        self.binary().to_owned()
    }

    fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
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

/// A database URL whose `Debug` and `Display` never show a password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = Url::parse(s).map_err(|e| format!("not a URL ({e})"))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(format!(
                "expected a postgres:// URL, got scheme `{}`",
                url.scheme()
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The real URL, for connecting. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        match Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("*****"));
                url.to_string()
            }
            Ok(url) if url.query_pairs().any(|(k, _)| k == "password") => {
                // a password can also hide in the query string
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "password" {
                            "*****".into()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                let mut url = url.clone();
                url.query_pairs_mut().clear().extend_pairs(pairs);
                url.to_string()
            }
            Ok(_) => self.0.clone(),
            Err(_) => "*****".into(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.masked())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// A file that holds a secret. Relative names resolve against `$CREDENTIALS_DIRECTORY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    key: String,
    path: PathBuf,
}

impl SecretFile {
    fn resolve(key: &str, name: &str, credentials_dir: Option<&Path>) -> Self {
        let name = PathBuf::from(name);
        let path = if name.is_absolute() {
            name
        } else {
            credentials_dir.map_or_else(|| name.clone(), |dir| dir.join(&name))
        };
        Self {
            key: key.to_owned(),
            path,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the secret, trimming one trailing newline (files written by `echo`).
    pub fn read(&self) -> Result<Secret, ConfigError> {
        let raw = std::fs::read_to_string(&self.path).map_err(|source| ConfigError::Secret {
            key: self.key.clone(),
            path: self.path.clone(),
            source,
        })?;
        let value = raw.strip_suffix('\n').unwrap_or(&raw);
        let value = value.strip_suffix('\r').unwrap_or(value);
        Ok(Secret(value.to_owned()))
    }
}

/// A secret value: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(*****)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrganisation {
    name: String,
    #[serde(default)]
    org_number: Option<String>,
    #[serde(default)]
    logo_file: Option<PathBuf>,
    #[serde(default)]
    accent_colour: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocale {
    default: String,
    #[serde(default)]
    languages: Option<Vec<String>>,
    #[serde(default)]
    time_zone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    from: String,
    smtp_host: String,
    #[serde(default)]
    smtp_port: Option<u16>,
    #[serde(default)]
    smtp_security: Option<SmtpSecurity>,
    #[serde(default)]
    smtp_username: Option<String>,
    #[serde(default)]
    smtp_password_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatrix {
    enable: bool,
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    public_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMemberNumber {
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    digits: Option<u8>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoot {
    organisation: RawOrganisation,
    domain: String,
    #[serde(default)]
    public_url: Option<String>,
    locale: RawLocale,
    currency: String,
    #[serde(default)]
    cash_rounding: Option<Decimal>,
    vat_classes: VatTable,
    #[serde(default)]
    member_only_shop: Option<bool>,
    #[serde(default)]
    member_number: Option<RawMemberNumber>,
    #[serde(default)]
    mail: Option<RawMail>,
    #[serde(default)]
    matrix: Option<RawMatrix>,
    services: Map<String, Value>,
}

/// The keys every service section may carry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommon {
    #[serde(default)]
    listen: Option<String>,
    #[serde(default)]
    database_url: Option<String>,
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    state_directory: Option<PathBuf>,
    #[serde(default)]
    log_filter: Option<String>,
    #[serde(default)]
    client_secret_file: Option<String>,
    #[serde(default)]
    trusted_clients: Option<Vec<String>>,
}

const COMMON_KEYS: [&str; 7] = [
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

#[derive(Debug, Clone)]
pub struct Organisation {
    pub name: String,
    pub org_number: Option<String>,
    /// An image shown in every page's header beside the name (SVG, PNG, JPEG or WebP).
    pub logo_file: Option<PathBuf>,
    /// The header's and buttons' colour; white text on it reads at 4.5:1 or better.
    pub accent_colour: AccentColour,
}

/// A `#rrggbb` colour that white text can be read on (WCAG contrast of at least 4.5:1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccentColour([u8; 3]);

impl AccentColour {
    /// The kit's own green.
    pub const DEFAULT: AccentColour = AccentColour([0x2f, 0x6b, 0x3a]);

    pub fn parse(s: &str) -> Result<Self, String> {
        let hex = s
            .strip_prefix('#')
            .filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| format!("expected a colour like \"#2f6b3a\", got `{s}`"))?;
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
        let colour = AccentColour([byte(0), byte(2), byte(4)]);
        let ratio = colour.contrast_with_white();
        if ratio < 4.5 {
            return Err(format!(
                "white text on {s} has a contrast of {ratio:.1}:1; pick a darker colour (4.5:1 or more)"
            ));
        }
        Ok(colour)
    }

    /// WCAG 2 contrast ratio of white on this colour.
    pub fn contrast_with_white(self) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.0;
        let l = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
        1.05 / (l + 0.05)
    }

    pub fn css(self) -> String {
        let [r, g, b] = self.0;
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    pub smtp_username: Option<String>,
    pub smtp_password_file: Option<SecretFile>,
}

#[derive(Debug, Clone)]
pub struct Matrix {
    pub server_name: String,
    pub public_url: Url,
}

/// One service's resolved section: common keys with their defaults applied.
#[derive(Debug, Clone)]
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

/// The whole co-op config as one service sees it.
#[derive(Debug, Clone)]
pub struct CoopConfig {
    pub organisation: Organisation,
    pub domain: String,
    pub public_url: Url,
    pub default_lang: Lang,
    pub languages: Vec<Lang>,
    /// Dates and times are shown in this zone.
    pub time_zone: chrono_tz::Tz,
    pub currency: Currency,
    pub cash_rounding: Decimal,
    pub vat: VatTable,
    pub member_only_shop: bool,
    pub member_number: MemberNumberFormat,
    pub mail: Option<Mail>,
    pub matrix: Option<Matrix>,
    /// Every service section present in the file, common keys resolved.
    pub services: BTreeMap<ServiceName, ServiceConfig>,
}

impl CoopConfig {
    pub fn service(&self, name: ServiceName) -> Option<&ServiceConfig> {
        self.services.get(&name)
    }

    /// The OIDC issuer: coop-sso's public URL without a trailing slash.
    pub fn issuer(&self) -> Option<String> {
        self.service(ServiceName::Sso)
            .map(|s| s.public_url.as_str().trim_end_matches('/').to_owned())
    }
}

/// What a service gets at start: the shared config, its own section and its own extra keys.
#[derive(Debug, Clone)]
pub struct Loaded<E> {
    pub coop: CoopConfig,
    pub service: ServiceConfig,
    pub extra: E,
}

/// Where the environment comes from; a map in tests, the process environment in production.
pub trait Environment {
    fn vars(&self) -> Vec<(String, String)>;
    fn get(&self, key: &str) -> Option<String>;
}

#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars().collect()
    }
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
}

impl Environment for BTreeMap<String, String> {
    fn vars(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
    fn get(&self, key: &str) -> Option<String> {
        BTreeMap::get(self, key).cloned()
    }
}

pub const ENV_PREFIX: &str = "COOPERAGE__";

/// Reads the file, applies overrides and parses it for `service`, whose section must exist.
pub fn load<E: DeserializeOwned>(
    path: &Path,
    service: ServiceName,
    env: &dyn Environment,
) -> Result<Loaded<E>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|source| ConfigError::Json {
        path: path.to_owned(),
        source,
    })?;
    parse(value, service, env)
}

/// Parses an already-read JSON value (tests, and `load`).
pub fn parse<E: DeserializeOwned>(
    mut value: Value,
    service: ServiceName,
    env: &dyn Environment,
) -> Result<Loaded<E>, ConfigError> {
    apply_env_overrides(&mut value, env)?;
    let raw: RawRoot = from_value("", value)?;
    let credentials = env.get("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    let state_env = env.get("STATE_DIRECTORY").map(PathBuf::from);
    let coop = resolve_root(
        raw.clone(),
        credentials.as_deref(),
        state_env.as_deref(),
        service,
    )?;

    let section = raw.services.get(service.key()).ok_or_else(|| {
        ConfigError::invalid(
            format!("services.{}", service.key()),
            format!(
                "missing: {} needs its section in `services`",
                service.binary()
            ),
        )
    })?;
    let extra_map = section
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !COMMON_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<_, _>>()
        })
        .unwrap_or_default();
    let extra: E = from_value(
        &format!("services.{}", service.key()),
        Value::Object(extra_map),
    )?;
    let service_cfg = coop.services[&service].clone();
    Ok(Loaded {
        coop,
        service: service_cfg,
        extra,
    })
}

fn from_value<T: DeserializeOwned>(prefix: &str, value: Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (prefix.is_empty(), inner.as_str()) {
            (true, ".") => "(top level)".to_owned(),
            (true, _) => inner,
            (false, ".") => prefix.to_owned(),
            (false, _) => format!("{prefix}.{inner}"),
        };
        ConfigError::invalid(path, e.into_inner())
    })
}

/// `COOPERAGE__SERVICES__SSO__LISTEN=…` sets `services.sso.listen`. Values that parse as JSON
/// (numbers, booleans, arrays, objects) are taken as JSON, anything else as a string.
fn apply_env_overrides(value: &mut Value, env: &dyn Environment) -> Result<(), ConfigError> {
    let mut vars: Vec<(String, String)> = env
        .vars()
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    vars.sort();
    for (var, raw) in vars {
        let keys: Vec<String> = var[ENV_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if keys.iter().any(String::is_empty) {
            return Err(ConfigError::Env {
                var,
                message: "empty key segment (use `__` only between keys)".into(),
            });
        }
        let parsed = serde_json::from_str::<Value>(&raw)
            .ok()
            .filter(|v| !v.is_string())
            .unwrap_or(Value::String(raw));
        let mut cursor = &mut *value;
        for (i, key) in keys.iter().enumerate() {
            let Value::Object(map) = cursor else {
                return Err(ConfigError::Env {
                    var: var.clone(),
                    message: format!("`{}` is not an object", keys[..i].join(".")),
                });
            };
            if i + 1 == keys.len() {
                map.insert(key.clone(), parsed.clone());
                break;
            }
            cursor = map
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    Ok(())
}

fn parse_url(path: &str, s: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(s).map_err(|e| ConfigError::invalid(path, format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::invalid(
            path,
            "expected an http:// or https:// URL",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::invalid(
            path,
            "a public URL has no query or fragment",
        ));
    }
    Ok(url)
}

fn valid_domain(domain: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    domain.len() <= 253
        && (domain == "localhost" || (domain.contains('.') && domain.split('.').all(label_ok)))
}

fn resolve_root(
    raw: RawRoot,
    credentials: Option<&Path>,
    state_env: Option<&Path>,
    me: ServiceName,
) -> Result<CoopConfig, ConfigError> {
    if raw.organisation.name.trim().is_empty() {
        return Err(ConfigError::invalid(
            "organisation.name",
            "must not be empty",
        ));
    }
    if !valid_domain(&raw.domain) {
        return Err(ConfigError::invalid(
            "domain",
            format!(
                "expected a fully qualified domain name like coop.example.org, got `{}`",
                raw.domain
            ),
        ));
    }
    let public_url = match &raw.public_url {
        Some(u) => parse_url("public_url", u)?,
        None => parse_url("public_url", &format!("https://{}", raw.domain))?,
    };
    let default_lang =
        Lang::parse(&raw.locale.default).map_err(|e| ConfigError::invalid("locale.default", e))?;
    let languages = match &raw.locale.languages {
        None => Lang::ALL.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for (i, l) in list.iter().enumerate() {
                out.push(
                    Lang::parse(l)
                        .map_err(|e| ConfigError::invalid(format!("locale.languages[{i}]"), e))?,
                );
            }
            out
        }
    };
    if !languages.contains(&default_lang) {
        return Err(ConfigError::invalid(
            "locale.languages",
            format!(
                "must include the default language `{}`",
                default_lang.code()
            ),
        ));
    }
    let time_zone = match raw.locale.time_zone.as_deref() {
        None => chrono_tz::Tz::UTC,
        Some(name) => name.parse().map_err(|_| {
            ConfigError::invalid(
                "locale.time_zone",
                format!("unknown time zone `{name}`; expected an IANA name like Europe/Stockholm"),
            )
        })?,
    };
    let accent_colour = match raw.organisation.accent_colour.as_deref() {
        None => AccentColour::DEFAULT,
        Some(c) => AccentColour::parse(c)
            .map_err(|e| ConfigError::invalid("organisation.accent_colour", e))?,
    };
    let logo_file = match raw.organisation.logo_file.clone() {
        None => None,
        Some(path) => {
            crate::branding::Logo::check_path(&path)
                .map_err(|e| ConfigError::invalid("organisation.logo_file", e))?;
            Some(path)
        }
    };
    let currency =
        Currency::parse(&raw.currency).map_err(|e| ConfigError::invalid("currency", e))?;
    let cash_rounding = raw
        .cash_rounding
        .unwrap_or_else(|| currency.default_cash_coin());
    if cash_rounding <= Decimal::ZERO {
        return Err(ConfigError::invalid(
            "cash_rounding",
            "must be a positive amount, e.g. \"1\" or \"0.05\"",
        ));
    }
    let member_number = {
        let raw_mn = raw.member_number.clone().unwrap_or(RawMemberNumber {
            prefix: None,
            digits: None,
        });
        MemberNumberFormat::new(
            &raw_mn.prefix.unwrap_or_default(),
            raw_mn.digits.unwrap_or(5),
        )
        .map_err(|e| ConfigError::invalid("member_number", e))?
    };
    let mail = raw.mail.map(|m| {
        let security = m.smtp_security.unwrap_or(SmtpSecurity::Starttls);
        Mail {
            smtp_port: m.smtp_port.unwrap_or(match security {
                SmtpSecurity::None => 25,
                SmtpSecurity::Starttls => 587,
                SmtpSecurity::Tls => 465,
            }),
            smtp_security: security,
            smtp_password_file: m
                .smtp_password_file
                .as_deref()
                .map(|f| SecretFile::resolve("mail.smtp_password_file", f, credentials)),
            from: m.from,
            smtp_host: m.smtp_host,
            smtp_username: m.smtp_username,
        }
    });
    let matrix = match raw.matrix {
        Some(m) if m.enable => {
            let server_name = m.server_name.unwrap_or_else(|| raw.domain.clone());
            let url = m
                .public_url
                .unwrap_or_else(|| format!("https://matrix.{}", raw.domain));
            Some(Matrix {
                server_name,
                public_url: parse_url("matrix.public_url", &url)?,
            })
        }
        _ => None,
    };

    let mut services = BTreeMap::new();
    for (key, value) in &raw.services {
        let name = ServiceName::from_key(key).ok_or_else(|| {
            ConfigError::invalid(
                format!("services.{key}"),
                format!(
                    "unknown service; expected one of {}",
                    ServiceName::ALL.map(ServiceName::key).join(", ")
                ),
            )
        })?;
        let prefix = format!("services.{key}");
        let Value::Object(map) = value else {
            return Err(ConfigError::invalid(prefix, "expected an object"));
        };
        let common_map: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| COMMON_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let common: RawCommon = from_value(&prefix, Value::Object(common_map))?;
        services.insert(
            name,
            resolve_service(
                name,
                common,
                &public_url,
                credentials,
                (name == me).then_some(state_env).flatten(),
            )?,
        );
    }

    Ok(CoopConfig {
        organisation: Organisation {
            name: raw.organisation.name,
            org_number: raw.organisation.org_number,
            logo_file,
            accent_colour,
        },
        time_zone,
        domain: raw.domain,
        public_url,
        default_lang,
        languages,
        currency,
        cash_rounding,
        vat: raw.vat_classes,
        member_only_shop: raw.member_only_shop.unwrap_or(true),
        member_number,
        mail,
        matrix,
        services,
    })
}

fn resolve_service(
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

/// The resolved view that `check-config` prints: every derived value, no secret.
pub fn resolved_view<E: Serialize>(loaded: &Loaded<E>) -> Value {
    let c = &loaded.coop;
    let services: Map<String, Value> = c
        .services
        .values()
        .map(|s| {
            (
                s.name.key().to_owned(),
                serde_json::json!({
                    "listen": s.listen.to_string(),
                    "database_url": s.database_url.masked(),
                    "public_url": s.public_url.as_str(),
                    "state_directory": s.state_directory,
                    "log_filter": s.log_filter,
                    "client_id": s.name.client_id(),
                    "redirect_uri": s.url("/auth/callback"),
                    "client_secret_file": s.client_secret_file.as_ref().map(SecretFile::path),
                    "trusted_clients": s.trusted_clients,
                }),
            )
        })
        .collect();
    serde_json::json!({
        "organisation": {
            "name": c.organisation.name, "org_number": c.organisation.org_number,
            "logo_file": c.organisation.logo_file, "accent_colour": c.organisation.accent_colour.css(),
        },
        "domain": c.domain,
        "public_url": c.public_url.as_str(),
        "issuer": c.issuer(),
        "locale": { "default": c.default_lang.code(), "languages": c.languages.iter().map(|l| l.code()).collect::<Vec<_>>(), "time_zone": c.time_zone.name() },
        "currency": c.currency.code(),
        "cash_rounding": c.cash_rounding.to_string(),
        "vat_classes": serde_json::to_value(&c.vat).unwrap_or(Value::Null),
        "member_only_shop": c.member_only_shop,
        "member_number_example": c.member_number.number(1).map(|n| n.to_string()).ok(),
        "mail": c.mail.as_ref().map(|m| serde_json::json!({
            "from": m.from, "smtp_host": m.smtp_host, "smtp_port": m.smtp_port,
            "smtp_security": m.smtp_security, "smtp_username": m.smtp_username,
            "smtp_password_file": m.smtp_password_file.as_ref().map(SecretFile::path),
        })),
        "matrix": c.matrix.as_ref().map(|m| serde_json::json!({
            "server_name": m.server_name, "public_url": m.public_url.as_str(),
        })),
        "services": services,
        "this_service": loaded.service.name.key(),
        "service_settings": serde_json::to_value(&loaded.extra).unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests;
