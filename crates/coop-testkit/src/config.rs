//! A complete co-op config for tests, as JSON, pointing one service at a test database.

use std::path::Path;

use serde_json::{json, Value};

/// The config a test service reads: the Swedish defaults, one section for `service`.
pub fn coop_config(
    service: &str,
    database_url: &str,
    state_directory: &Path,
    public_url: &str,
) -> Value {
    json!({
        "organisation": { "name": "Testköpinge Matkooperativ" },
        "domain": "coop.example.org",
        "public_url": public_url,
        "locale": { "default": "en", "languages": ["en", "sv"] },
        "currency": "SEK",
        "vat_classes": {
            "food": { "rates": [
                { "from": "2024-01-01", "percent": "12" },
                { "from": "2026-04-01", "percent": "6" },
                { "from": "2028-01-01", "percent": "12" }
            ] },
            "standard": { "rates": [ { "from": "1990-07-01", "percent": "25" } ] }
        },
        "services": {
            service: {
                "database_url": database_url,
                "public_url": public_url,
                "state_directory": state_directory,
                "listen": "127.0.0.1:0"
            }
        }
    })
}
