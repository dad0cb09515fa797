//! Secret values, the files they are read from, and database URLs that never print a password.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use url::Url;

use super::ConfigError;

/// A database URL whose `Debug` and `Display` never show a password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub(super) String);

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

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

/// A secret value (`secrecy`): never printed, zeroed when dropped; `expose_secret()` to use it.
pub type Secret = secrecy::SecretString;
pub use secrecy::ExposeSecret;

/// A file that holds a secret, and the config key that named it. Relative names resolve
/// against systemd's `$CREDENTIALS_DIRECTORY`. Shown (in `check-config`) as its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    key: String,
    path: PathBuf,
}

impl SecretFile {
    /// The one way a config name becomes a secret file: an absolute path as it is, anything
    /// else inside `credentials_dir` (when systemd gave us one).
    pub fn resolve(key: &str, name: &str, credentials_dir: Option<&Path>) -> Self {
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
        Ok(Secret::from(value))
    }
}

impl Serialize for SecretFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.path.serialize(s)
    }
}
