//! The co-op's own look on every page: its logo and accent colour from config, served as
//! `/static/logo` and `/static/theme.css` (a stylesheet, not inline styles: the CSP forbids them).

use std::path::Path;

use crate::config::Organisation;

/// The largest logo the kit serves; a header image needs far less.
const MAX_LOGO_BYTES: u64 = 512 * 1024;

/// A logo read at start.
#[derive(Debug, Clone)]
pub struct Logo {
    pub bytes: bytes::Bytes,
    pub content_type: &'static str,
}

impl Logo {
    fn content_type(path: &Path) -> Option<&'static str> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "svg" => "image/svg+xml",
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            _ => return None,
        })
    }

    /// What `check-config` says of a logo path: a readable image file of a kind browsers show.
    pub fn check_path(path: &Path) -> Result<(), String> {
        if Self::content_type(path).is_none() {
            return Err(format!(
                "{}: expected an .svg, .png, .jpg or .webp file",
                path.display()
            ));
        }
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !meta.is_file() {
            return Err(format!("{}: not a file", path.display()));
        }
        if meta.len() > MAX_LOGO_BYTES {
            return Err(format!(
                "{}: {} bytes; a header logo must be at most {MAX_LOGO_BYTES}",
                path.display(),
                meta.len()
            ));
        }
        Ok(())
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        Self::check_path(path).map_err(anyhow::Error::msg)?;
        let content_type = Self::content_type(path).unwrap_or("application/octet-stream");
        Ok(Self {
            bytes: std::fs::read(path)?.into(),
            content_type,
        })
    }
}

/// `/static/theme.css`: the co-op's colours over the kit's defaults.
pub fn theme_css(org: &Organisation) -> String {
    format!(
        ":root {{ --brand: {}; --on-brand: #fff; }}\n",
        org.accent_colour.css()
    )
}
