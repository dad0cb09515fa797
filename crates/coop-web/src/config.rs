//! The one co-op config file (`docs/config.md`): JSON + `COOPERAGE__*` environment overrides +
//! credential files. Parsed once at start into validated types; any bad key fails with its path.
//!
//! - [`services`]: the suite's services in one table, and each one's resolved section;
//! - [`secrets`]: secret values (`secrecy`), the files they come from, database URLs;
//! - [`organisation`], [`mail`]: the co-op's identity, outgoing mail and Matrix;
//! - [`env`]: `COOPERAGE__*` overrides.
//!
//! `check-config` prints [`resolved_view`]: the resolved types themselves, serialised, with every
//! secret shown as the file it comes from or masked, so the view cannot drift from what runs.

mod env;
mod mail;
mod organisation;
mod secrets;
mod services;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use coop_domain::{Currency, MemberNumberFormat, VatTable};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::i18n::Lang;

pub use env::{Environment, ProcessEnv, ENV_PREFIX};
pub use mail::{Mail, Matrix, SmtpSecurity};
pub use organisation::{AccentColour, Organisation};
pub use secrets::{DatabaseUrl, ExposeSecret, Secret, SecretFile};
pub use services::{ListenAddr, ServiceConfig, ServiceInfo, ServiceName, SERVICES, TILL_CLIENT_ID};

use env::apply_env_overrides;
use mail::{RawMail, RawMatrix};
use organisation::RawOrganisation;
use services::{resolve_service, RawCommon, COMMON_KEYS};

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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocale {
    default: String,
    #[serde(default)]
    languages: Option<Vec<String>>,
    #[serde(default)]
    time_zone: Option<String>,
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

/// The whole co-op config as one service sees it.
#[derive(Debug, Clone, Serialize)]
pub struct CoopConfig {
    pub organisation: Organisation,
    pub domain: String,
    pub public_url: Url,
    pub default_lang: Lang,
    pub languages: Vec<Lang>,
    /// Dates and times are shown in this zone.
    #[serde(serialize_with = "as_display")]
    pub time_zone: chrono_tz::Tz,
    #[serde(serialize_with = "currency_code")]
    pub currency: Currency,
    pub cash_rounding: Decimal,
    #[serde(rename = "vat_classes")]
    pub vat: VatTable,
    pub member_only_shop: bool,
    /// Shown as the number member 1 would get.
    #[serde(serialize_with = "member_number_example")]
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

fn as_display<T: fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn currency_code<S: serde::Serializer>(c: &Currency, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.code())
}

fn member_number_example<S: serde::Serializer>(
    f: &MemberNumberFormat,
    s: S,
) -> Result<S::Ok, S::Error> {
    match f.number(1) {
        Ok(n) => s.collect_str(&n),
        Err(_) => s.serialize_none(),
    }
}

/// What a service gets at start: the shared config, its own section and its own extra keys.
#[derive(Debug, Clone)]
pub struct Loaded<E> {
    pub coop: CoopConfig,
    pub service: ServiceConfig,
    pub extra: E,
    /// systemd's `$CREDENTIALS_DIRECTORY`, where relative secret file names resolve.
    pub credentials_dir: Option<PathBuf>,
}

impl<E> Loaded<E> {
    /// A secret file named by one of the service's own settings (`key` is its config path, for
    /// messages): resolved the same way as the kit's own secret files.
    pub fn secret_file(&self, key: &str, name: &str) -> SecretFile {
        SecretFile::resolve(key, name, self.credentials_dir.as_deref())
    }
}

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
        credentials_dir: credentials,
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

pub(crate) fn parse_url(path: &str, s: &str) -> Result<Url, ConfigError> {
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

/// The resolved view that `check-config` prints: the resolved config itself, serialised
/// (secrets appear as the files they come from, database passwords masked), plus what is
/// derived from it: the OIDC issuer and each service's client id and redirect URI.
pub fn resolved_view<E: Serialize>(loaded: &Loaded<E>) -> Value {
    let mut view = serde_json::to_value(&loaded.coop).unwrap_or(Value::Null);
    view["issuer"] = serde_json::json!(loaded.coop.issuer());
    for s in loaded.coop.services.values() {
        let entry = &mut view["services"][s.name.key()];
        entry["client_id"] = Value::String(s.name.client_id());
        entry["redirect_uri"] = Value::String(s.url("/auth/callback"));
    }
    view["this_service"] = Value::String(loaded.service.name.key().to_owned());
    view["service_settings"] = serde_json::to_value(&loaded.extra).unwrap_or(Value::Null);
    view
}

#[cfg(test)]
mod tests;
