//! Where to send a member after sign-in: a path inside this service, never anywhere else.

use serde::{Deserialize, Serialize};

/// A path and query inside the service (`/orders?week=12`), relative to its base path. Parsing
/// refuses anything a browser could resolve to another origin or another service: absolute
/// URLs, `//host`, backslashes, dot segments, control characters, the sign-in routes themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReturnTo(String);

/// An authorization request carries state, nonce and a redirect URI, percent-encoded.
const MAX_LEN: usize = 8192;

impl ReturnTo {
    /// The service's start page.
    pub fn home() -> Self {
        Self("/".into())
    }

    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() || s.len() > MAX_LEN || !s.starts_with('/') {
            return None;
        }
        // Visible ASCII only: no spaces, tabs, newlines (header splitting) or raw Unicode,
        // which a real path carries percent-encoded.
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        // Browsers read `\` as `/`, so `/\evil.example` is `//evil.example`.
        if s.contains('\\') || s.starts_with("//") || s.contains('#') {
            return None;
        }
        let path = s.split('?').next().unwrap_or_default();
        let has_dot_segment = path.split('/').any(|seg| {
            let seg = seg.to_ascii_lowercase().replace("%2e", ".");
            seg == "." || seg == ".."
        });
        // Percent-encoded slashes and backslashes get decoded by some proxies.
        let lower = path.to_ascii_lowercase();
        if has_dot_segment || lower.contains("%2f") || lower.contains("%5c") {
            return None;
        }
        if path == "/auth" || path.starts_with("/auth/") {
            return None;
        }
        // Belt and braces: resolved against some origin, it must stay on that origin.
        let base = url::Url::parse("https://rp.invalid/").ok()?;
        let resolved = base.join(s).ok()?;
        if resolved.origin() != base.origin() {
            return None;
        }
        Some(Self(s.to_owned()))
    }

    /// Parses, falling back to the start page (and saying so in the log).
    pub fn parse_or_home(s: Option<&str>) -> Self {
        match s {
            None => Self::home(),
            Some(s) => Self::parse(s).unwrap_or_else(|| {
                tracing::info!("refused return_to {:?}; using the start page", truncate(s));
                Self::home()
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `Location` for this path in a service mounted at `base_path` (`/` or `/pos`).
    pub fn location(&self, base_path: &str) -> String {
        let base = base_path.trim_end_matches('/');
        if self.0 == "/" {
            // A service's start page is its base path itself (`/pos`, not `/pos/`).
            if base.is_empty() {
                "/".into()
            } else {
                base.to_owned()
            }
        } else {
            format!("{base}{}", self.0)
        }
    }
}

impl TryFrom<String> for ReturnTo {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or_else(|| "not a path inside this service".into())
    }
}

impl From<ReturnTo> for String {
    fn from(r: ReturnTo) -> Self {
        r.0
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths_inside_the_service_are_kept() {
        for ok in [
            "/",
            "/orders",
            "/orders?week=12&x=%2F",
            "/a/b.c/d..e",
            "/%C3%A5ngstr%C3%B6m",
        ] {
            assert_eq!(
                ReturnTo::parse(ok).map(|r| r.0),
                Some(ok.to_owned()),
                "{ok}"
            );
        }
    }

    #[test]
    fn anything_that_could_leave_the_service_is_refused() {
        for bad in [
            "",
            "https://evil.example",
            "http:/evil.example",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "evil.example",
            "javascript:alert(1)",
            "/x\r\nLocation: https://evil.example",
            "/x y",
            "/\tevil",
            "/../admin",
            "/a/%2e%2e/b",
            "/a/.",
            "/a%2f..%2fb",
            "/x#frag",
            "/auth/login",
            "/auth/callback?code=x",
            "/ö",
        ] {
            assert_eq!(ReturnTo::parse(bad), None, "{bad:?}");
        }
        assert_eq!(ReturnTo::parse(&format!("/{}", "a".repeat(9000))), None);
    }

    #[test]
    fn locations_sit_under_the_base_path() {
        let r = ReturnTo::parse("/orders?week=12").unwrap();
        assert_eq!(r.location("/pos"), "/pos/orders?week=12");
        assert_eq!(r.location("/"), "/orders?week=12");
        assert_eq!(ReturnTo::home().location("/pos"), "/pos");
        assert_eq!(ReturnTo::home().location("/"), "/");
        assert_eq!(
            ReturnTo::parse_or_home(Some("//evil.example")),
            ReturnTo::home()
        );
    }

    #[test]
    fn serde_refuses_what_parse_refuses() {
        assert!(serde_json::from_str::<ReturnTo>("\"//evil.example\"").is_err());
        let r: ReturnTo = serde_json::from_str("\"/orders\"").unwrap();
        assert_eq!(r.as_str(), "/orders");
    }

    proptest! {
        /// Whatever is accepted, a browser on the service's page resolves the resulting
        /// Location to the same origin and under the service's base path.
        #[test]
        fn accepted_paths_stay_on_the_service(s in "\\PC{0,40}") {
            if let Some(r) = ReturnTo::parse(&s) {
                let page = url::Url::parse("https://coop.example.org/pos/orders").unwrap();
                let loc = page.join(&r.location("/pos")).unwrap();
                prop_assert_eq!(loc.origin(), page.origin());
                prop_assert!(loc.path() == "/pos" || loc.path().starts_with("/pos/"), "{}", loc);
            }
        }

        #[test]
        fn slash_prefixed_garbage_stays_on_the_service(s in "/[/\\\\.a-z%2eE:?#@]{0,12}") {
            if let Some(r) = ReturnTo::parse(&s) {
                let page = url::Url::parse("https://coop.example.org/pos/x").unwrap();
                let loc = page.join(&r.location("/pos")).unwrap();
                prop_assert_eq!(loc.origin(), page.origin());
                prop_assert!(loc.path() == "/pos" || loc.path().starts_with("/pos/"), "{}", loc);
            }
        }
    }
}
