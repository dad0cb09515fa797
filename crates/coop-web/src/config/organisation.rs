//! The co-op's name, number, logo and colour.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrganisation {
    pub(super) name: String,
    #[serde(default)]
    pub(super) org_number: Option<String>,
    #[serde(default)]
    pub(super) logo_file: Option<PathBuf>,
    #[serde(default)]
    pub(super) accent_colour: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
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

impl Serialize for AccentColour {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.css())
    }
}
