//! Fluent translations. Every service ships `locales/<lang>/*.ftl`, embedded at compile time and
//! merged with the kit's own messages. Messages are whole sentences with placeables.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use fluent_bundle::concurrent::FluentBundle;
pub use fluent_bundle::FluentValue;
use fluent_bundle::{FluentArgs, FluentResource};
use serde::Serialize;
use unic_langid::LanguageIdentifier;

/// The languages Cooperage is translated into. Adding one means adding it here and a
/// `locales/<code>/` folder to every crate; the completeness test names what is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Sv,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Sv];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sv => "sv",
        }
    }

    /// The language's own name, for the language switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Sv => "Svenska",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let primary = s
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|l| l.code() == primary)
            .ok_or_else(|| format!("unsupported language `{s}`; expected one of: en, sv"))
    }

    fn langid(self) -> LanguageIdentifier {
        self.code()
            .parse()
            .expect("language codes are valid identifiers")
    }

    /// Picks the best of `available` for an `Accept-Language` header value.
    pub fn negotiate(header: &str, available: &[Lang]) -> Option<Lang> {
        let mut ranked: Vec<(f32, usize, Lang)> = Vec::new();
        for (pos, part) in header.split(',').enumerate() {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            if let Ok(lang) = Lang::parse(tag) {
                if available.contains(&lang) {
                    ranked.push((q, pos, lang));
                }
            }
        }
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.first().map(|r| r.2)
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One `.ftl` file of one language, embedded with `include_str!`.
#[derive(Debug, Clone, Copy)]
pub struct FtlSource {
    pub lang: Lang,
    pub name: &'static str,
    pub text: &'static str,
}

/// The kit's own messages (layout, errors, landing page).
pub const KIT_SOURCES: &[FtlSource] = &[
    FtlSource {
        lang: Lang::En,
        name: "coop-web/en/kit.ftl",
        text: include_str!("../locales/en/kit.ftl"),
    },
    FtlSource {
        lang: Lang::Sv,
        name: "coop-web/sv/kit.ftl",
        text: include_str!("../locales/sv/kit.ftl"),
    },
];

#[derive(Debug, thiserror::Error)]
pub enum I18nError {
    #[error("{file}: Fluent syntax error: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: message `{id}` is defined twice")]
    Duplicate { file: String, id: String },
}

/// All translations of a service, shareable across threads.
#[derive(Clone)]
pub struct Translations {
    bundles: Arc<HashMap<Lang, FluentBundle<FluentResource>>>,
    ids: Arc<BTreeMap<Lang, BTreeSet<String>>>,
    fallback: Lang,
}

impl fmt::Debug for Translations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Translations")
            .field("languages", &self.ids.keys().collect::<Vec<_>>())
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

impl Translations {
    /// Builds bundles from the kit's sources plus the service's. A syntax error or a message
    /// defined twice in one language is an error, so it is caught by tests, not by members.
    pub fn new(service_sources: &[FtlSource], fallback: Lang) -> Result<Self, I18nError> {
        let mut bundles = HashMap::new();
        let mut ids: BTreeMap<Lang, BTreeSet<String>> = BTreeMap::new();
        for lang in Lang::ALL {
            let mut bundle = FluentBundle::new_concurrent(vec![lang.langid()]);
            // Isolation marks would end up inside HTML attributes and snapshots.
            bundle.set_use_isolating(false);
            let lang_ids = ids.entry(lang).or_default();
            for src in KIT_SOURCES
                .iter()
                .chain(service_sources)
                .filter(|s| s.lang == lang)
            {
                let resource =
                    FluentResource::try_new(src.text.to_owned()).map_err(|(_, errs)| {
                        I18nError::Syntax {
                            file: src.name.to_owned(),
                            message: errs
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join("; "),
                        }
                    })?;
                for id in message_ids(&resource) {
                    if !lang_ids.insert(id.clone()) {
                        return Err(I18nError::Duplicate {
                            file: src.name.to_owned(),
                            id,
                        });
                    }
                }
                bundle
                    .add_resource(resource)
                    .map_err(|errs| I18nError::Syntax {
                        file: src.name.to_owned(),
                        message: format!("{errs:?}"),
                    })?;
            }
            bundles.insert(lang, bundle);
        }
        Ok(Self {
            bundles: Arc::new(bundles),
            ids: Arc::new(ids),
            fallback,
        })
    }

    /// Message ids present in one language but missing in another: `(lang, id)` pairs.
    pub fn missing(&self) -> Vec<(Lang, String)> {
        let all: BTreeSet<&String> = self.ids.values().flatten().collect();
        let mut out = Vec::new();
        for (lang, ids) in self.ids.iter() {
            for id in &all {
                if !ids.contains(*id) {
                    out.push((*lang, (*id).clone()));
                }
            }
        }
        out
    }

    pub fn has(&self, lang: Lang, id: &str) -> bool {
        self.ids.get(&lang).is_some_and(|ids| ids.contains(id))
    }

    /// Formats a message. A missing id falls back to the fallback language, then to the id
    /// itself, so a page never breaks over a translation; the completeness test catches it.
    pub fn format(&self, lang: Lang, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        for l in [lang, self.fallback] {
            let Some(bundle) = self.bundles.get(&l) else {
                continue;
            };
            let Some(msg) = bundle.get_message(id) else {
                continue;
            };
            let Some(pattern) = msg.value() else { continue };
            let mut fargs = FluentArgs::new();
            for (k, v) in args {
                fargs.set(*k, v.clone());
            }
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fargs), &mut errors);
            if !errors.is_empty() {
                tracing::warn!(lang = %l, id, ?errors, "translation formatting problem");
            }
            return text.into_owned();
        }
        tracing::warn!(%lang, id, "missing translation");
        id.to_owned()
    }

    pub fn text(&self, lang: Lang, id: &str) -> String {
        self.format(lang, id, &[])
    }
}

fn message_ids(resource: &FluentResource) -> Vec<String> {
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            fluent_syntax::ast::Entry::Term(t) => Some(format!("-{}", t.id.name)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kit_translations_are_complete_in_every_language() {
        let t = Translations::new(&[], Lang::En).unwrap();
        assert_eq!(t.missing(), Vec::<(Lang, String)>::new());
    }

    #[test]
    fn a_message_missing_in_one_language_is_reported() {
        const EXTRA: &[FtlSource] = &[FtlSource {
            lang: Lang::En,
            name: "test/en.ftl",
            text: "only-english = Only in English\n",
        }];
        let t = Translations::new(EXTRA, Lang::En).unwrap();
        assert_eq!(t.missing(), vec![(Lang::Sv, "only-english".to_owned())]);
        // and the page still renders, in the fallback language
        assert_eq!(t.text(Lang::Sv, "only-english"), "Only in English");
    }

    #[test]
    fn syntax_errors_and_duplicates_are_caught() {
        const DUP: &[FtlSource] = &[FtlSource {
            lang: Lang::En,
            name: "test/en.ftl",
            text: "skip-link = again\n",
        }];
        const BAD: &[FtlSource] = &[FtlSource {
            lang: Lang::Sv,
            name: "test/sv.ftl",
            text: "broken = { $\n",
        }];
        assert!(matches!(
            Translations::new(BAD, Lang::En),
            Err(I18nError::Syntax { .. })
        ));
        assert!(matches!(
            Translations::new(DUP, Lang::En),
            Err(I18nError::Duplicate { .. })
        ));
    }

    #[test]
    fn placeables_are_filled() {
        let t = Translations::new(&[], Lang::En).unwrap();
        let s = t.format(
            Lang::Sv,
            "landing-welcome",
            &[("org", "Röstånga Matkooperativ".into())],
        );
        assert!(s.contains("Röstånga Matkooperativ"), "{s}");
    }

    #[test]
    fn accept_language_negotiation_honours_quality() {
        let all = [Lang::En, Lang::Sv];
        assert_eq!(
            Lang::negotiate("sv-SE,sv;q=0.9,en;q=0.8", &all),
            Some(Lang::Sv)
        );
        assert_eq!(
            Lang::negotiate("de-DE, en;q=0.5, sv;q=0.7", &all),
            Some(Lang::Sv)
        );
        assert_eq!(Lang::negotiate("de", &all), None);
        assert_eq!(Lang::negotiate("sv;q=0, en", &all), Some(Lang::En));
        assert_eq!(Lang::negotiate("sv", &[Lang::En]), None);
    }
}
