//! `COOPERAGE__*` environment overrides.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::ConfigError;

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

/// `COOPERAGE__SERVICES__SSO__LISTEN=…` sets `services.sso.listen`. Values that parse as JSON
/// (numbers, booleans, arrays, objects) are taken as JSON, anything else as a string.
pub(super) fn apply_env_overrides(
    value: &mut Value,
    env: &dyn Environment,
) -> Result<(), ConfigError> {
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
