//! Tera templates: the kit's base layout (skip link, landmarks, `lang`, error summary, language
//! switcher) plus each service's own templates, all embedded in the binary.

use std::collections::HashMap;
use std::sync::Arc;

use fluent_bundle::FluentValue;
use serde::Serialize;
use tera::{Context, Tera, Value};

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use coop_domain::{Currency, Money, Role};
use rust_decimal::Decimal;

use crate::config::{CoopConfig, ServiceName};
use crate::format::Format;
use crate::i18n::{Lang, Translations};

/// A template embedded with `include_str!`.
#[derive(Debug, Clone, Copy)]
pub struct TemplateSource {
    pub name: &'static str,
    pub text: &'static str,
}

const KIT_TEMPLATES: &[TemplateSource] = &[
    TemplateSource {
        name: "base.html",
        text: include_str!("../templates/base.html"),
    },
    TemplateSource {
        name: "error.html",
        text: include_str!("../templates/error.html"),
    },
    TemplateSource {
        name: "landing.html",
        text: include_str!("../templates/landing.html"),
    },
    TemplateSource {
        name: "styleguide.html",
        text: include_str!("../templates/styleguide.html"),
    },
    TemplateSource {
        name: "kit_job.html",
        text: include_str!("../templates/kit_job.html"),
    },
    TemplateSource {
        name: "kit_jobs.html",
        text: include_str!("../templates/kit_jobs.html"),
    },
];

pub const KIT_CSS: &str = include_str!("../templates/kit.css");

/// A menu entry in the header.
#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub label_key: String,
    pub url: String,
    pub current: bool,
}

#[derive(Debug, Clone, Serialize)]
struct LanguageLink {
    code: &'static str,
    name: &'static str,
    url: String,
}

/// The signed-in member as the header shows them, with where their sign-out form posts.
#[derive(Debug, Clone, Serialize)]
pub struct Viewer {
    pub name: String,
    #[serde(skip)]
    pub roles: BTreeSet<Role>,
    pub sign_out_url: String,
}

/// A link in the header to one of the suite's services.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceLink {
    /// The translation key of its name (`service-sso`, `service-buyers_club`, …).
    pub label_key: String,
    pub url: String,
    pub current: bool,
}

/// What the base layout needs on every page.
#[derive(Debug, Clone, Serialize)]
pub struct PageContext {
    pub lang: Lang,
    pub org_name: String,
    pub base_path: String,
    pub home_url: String,
    /// This service's own sections, shown under the header.
    pub nav: Vec<NavItem>,
    /// The suite's services this viewer may use, in the header.
    pub services: Vec<ServiceLink>,
    pub viewer: Option<Viewer>,
    pub sign_in_url: Option<String>,
    pub has_logo: bool,
    /// `<base>/static`, where the stylesheets and the logo are.
    pub static_url: String,
    languages: Vec<LanguageLink>,
    pub csrf_token: Option<String>,
}

impl PageContext {
    /// `path_and_query` is the current request's, so the language links keep the page.
    pub fn new(
        lang: Lang,
        languages: &[Lang],
        org_name: &str,
        base_path: &str,
        home_url: &str,
        path_and_query: &str,
    ) -> Self {
        let languages = languages
            .iter()
            .map(|l| LanguageLink {
                code: l.code(),
                name: l.native_name(),
                url: with_lang_param(path_and_query, *l),
            })
            .collect();
        Self {
            lang,
            org_name: org_name.to_owned(),
            base_path: base_path.to_owned(),
            home_url: home_url.to_owned(),
            nav: Vec::new(),
            services: Vec::new(),
            viewer: None,
            sign_in_url: None,
            has_logo: false,
            static_url: format!("{}/static", base_path.trim_end_matches('/')),
            languages,
            csrf_token: None,
        }
    }

    /// Shows `viewer` in the header with links to the services of `coop` that they may use.
    pub fn set_viewer(&mut self, viewer: Viewer, coop: &CoopConfig, here: ServiceName) {
        self.services = coop
            .services
            .values()
            .filter(|s| s.name.used_by().iter().any(|r| viewer.roles.contains(r)))
            .map(|s| ServiceLink {
                label_key: format!("service-{}", s.name.key()),
                url: s.public_url.as_str().to_owned(),
                current: s.name == here,
            })
            .collect();
        self.viewer = Some(viewer);
    }
}

/// Replaces or adds `lang=<code>` in a path with query.
pub fn with_lang_param(path_and_query: &str, lang: Lang) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "lang")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("lang".into(), lang.code().into()));
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{q}")
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {name}: {source}")]
    Parse { name: String, source: tera::Error },
    #[error("rendering {name}: {message}")]
    Render { name: String, message: String },
}

/// Templates and translations of one service.
#[derive(Clone, Debug)]
pub struct Templates {
    tera: Arc<Tera>,
    translations: Translations,
}

impl Templates {
    pub fn new(
        service_templates: &[TemplateSource],
        translations: Translations,
    ) -> Result<Self, TemplateError> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        let all: Vec<(&str, &str)> = KIT_TEMPLATES
            .iter()
            .chain(service_templates)
            .map(|t| (t.name, t.text))
            .collect();
        tera.add_raw_templates(all)
            .map_err(|source| TemplateError::Parse {
                name: "(templates)".into(),
                source,
            })?;
        tera.register_function("t", TranslateFn(translations.clone()));
        let me = Self {
            tera: Arc::new(tera),
            translations,
        };
        // UTC and the euro until the service's config says otherwise.
        Ok(me.localised(Tz::UTC, Currency::parse("EUR").expect("EUR is a currency")))
    }

    /// Registers the `datetime`, `date`, `time`, `number` and `money` filters for the co-op's
    /// time zone and currency: `{{ row.created_at | datetime(lang=page.lang) }}`.
    #[must_use]
    pub fn localised(mut self, tz: Tz, currency: Currency) -> Self {
        let tera = Arc::make_mut(&mut self.tera);
        for kind in [
            FormatKind::DateTime,
            FormatKind::Date,
            FormatKind::Time,
            FormatKind::Number,
            FormatKind::Money,
        ] {
            tera.register_filter(kind.name(), FormatFilter { kind, tz, currency });
        }
        self
    }

    pub fn translations(&self) -> &Translations {
        &self.translations
    }

    /// Renders `name` with `page` under the key `page` and every key of `data`.
    pub fn render<T: Serialize>(
        &self,
        name: &str,
        page: &PageContext,
        data: &T,
    ) -> Result<String, TemplateError> {
        let mut ctx = Context::from_serialize(data).map_err(|e| TemplateError::Render {
            name: name.into(),
            message: e.to_string(),
        })?;
        ctx.insert("page", page);
        self.tera.render(name, &ctx).map_err(|e| {
            // Tera hides the useful part in the source chain.
            let mut message = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                message.push_str(": ");
                message.push_str(&s.to_string());
                src = s.source();
            }
            TemplateError::Render {
                name: name.into(),
                message,
            }
        })
    }
}

/// `{{ t(key="message-id", lang=page.lang, name=value) }}`: the output is escaped by Tera.
struct TranslateFn(Translations);

impl tera::Function for TranslateFn {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let key = args
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg("t(): `key` must be a string"))?;
        let lang = args
            .get("lang")
            .and_then(Value::as_str)
            .and_then(|l| Lang::parse(l).ok())
            .ok_or_else(|| tera::Error::msg("t(): `lang` must be a language code"))?;
        let fargs: Vec<(&str, FluentValue<'_>)> = args
            .iter()
            .filter(|(k, _)| k.as_str() != "key" && k.as_str() != "lang")
            .map(|(k, v)| {
                let fv = match v {
                    Value::Number(n) => n
                        .as_f64()
                        .map_or_else(|| FluentValue::from(n.to_string()), FluentValue::from),
                    Value::String(s) => FluentValue::from(s.clone()),
                    other => FluentValue::from(other.to_string()),
                };
                (k.as_str(), fv)
            })
            .collect();
        Ok(Value::String(self.0.format(lang, key, &fargs)))
    }

    fn is_safe(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone, Copy)]
enum FormatKind {
    DateTime,
    Date,
    Time,
    Number,
    Money,
}

impl FormatKind {
    fn name(self) -> &'static str {
        match self {
            FormatKind::DateTime => "datetime",
            FormatKind::Date => "date",
            FormatKind::Time => "time",
            FormatKind::Number => "number",
            FormatKind::Money => "money",
        }
    }
}

/// `{{ value | datetime(lang=page.lang) }}` and its siblings; `number` takes `decimals`
/// (default 0). A value of the wrong shape is a render error, never a silently raw value.
struct FormatFilter {
    kind: FormatKind,
    tz: Tz,
    currency: Currency,
}

impl tera::Filter for FormatFilter {
    fn filter(&self, value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let name = self.kind.name();
        let lang = args
            .get("lang")
            .and_then(Value::as_str)
            .and_then(|l| Lang::parse(l).ok())
            .ok_or_else(|| tera::Error::msg(format!("{name}: `lang` must be a language code")))?;
        let f = Format::new(lang, self.tz);
        let text = || {
            value.as_str().map(str::to_owned).or_else(|| match value {
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let bad = || tera::Error::msg(format!("{name}: cannot format {value}"));
        let out = match self.kind {
            FormatKind::DateTime | FormatKind::Time => {
                let t: DateTime<Utc> = text().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                if matches!(self.kind, FormatKind::Time) {
                    f.time(t)
                } else {
                    f.datetime(t)
                }
            }
            FormatKind::Date => {
                let s = text().ok_or_else(bad)?;
                if let Ok(d) = s.parse::<NaiveDate>() {
                    f.naive_date(d)
                } else {
                    f.date(s.parse::<DateTime<Utc>>().map_err(|_| bad())?)
                }
            }
            FormatKind::Number => {
                let n: Decimal = text().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                let decimals = args
                    .get("decimals")
                    .and_then(Value::as_u64)
                    .and_then(|d| u32::try_from(d).ok())
                    .unwrap_or(0);
                f.number(n, decimals)
            }
            FormatKind::Money => {
                let n: Decimal = text().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                f.money(Money::new(n, self.currency))
            }
        };
        Ok(Value::String(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_links_keep_the_other_query_parameters() {
        assert_eq!(with_lang_param("/", Lang::Sv), "/?lang=sv");
        assert_eq!(
            with_lang_param("/x?a=1&lang=en", Lang::Sv),
            "/x?a=1&lang=sv"
        );
        assert_eq!(
            with_lang_param("/x?q=a+b%26c", Lang::En),
            "/x?q=a+b%26c&lang=en"
        );
    }

    #[test]
    fn translations_in_templates_are_escaped() {
        const T: &[TemplateSource] = &[TemplateSource {
            name: "x.html",
            text: "{{ t(key=\"landing-welcome\", lang=page.lang, org=page.org_name) }}",
        }];
        let tr = Translations::new(&[], Lang::En).unwrap();
        let tpl = Templates::new(T, tr).unwrap();
        let page = PageContext::new(Lang::En, &Lang::ALL, "<script>x</script>", "/", "/", "/");
        let html = tpl.render("x.html", &page, &serde_json::json!({})).unwrap();
        assert_eq!(html, "Welcome to &lt;script&gt;x&lt;&#x2F;script&gt;");
    }

    #[test]
    fn format_filters_use_the_coops_zone_and_currency() {
        const T: &[TemplateSource] = &[TemplateSource {
            name: "f.html",
            text: "{{ at | datetime(lang=page.lang) }}|{{ day | date(lang=page.lang) }}|{{ n | number(lang=page.lang, decimals=1) }}|{{ m | money(lang=page.lang) }}",
        }];
        let tr = Translations::new(&[], Lang::En).unwrap();
        let tpl = Templates::new(T, tr).unwrap().localised(
            chrono_tz::Europe::Stockholm,
            Currency::parse("SEK").unwrap(),
        );
        let data = serde_json::json!({
            "at": "2026-11-29T18:01:00Z", "day": "2026-03-01", "n": 1234.56, "m": "-12.5",
        });
        let sv = PageContext::new(Lang::Sv, &Lang::ALL, "Co-op", "/", "/", "/");
        assert_eq!(
            tpl.render("f.html", &sv, &data).unwrap(),
            "29 nov. 2026 19:01|1 mars 2026|1\u{a0}234,6|\u{2212}12,50\u{a0}kr"
        );
        let en = PageContext::new(Lang::En, &Lang::ALL, "Co-op", "/", "/", "/");
        assert_eq!(
            tpl.render("f.html", &en, &data).unwrap(),
            "29 Nov 2026 19:01|1 Mar 2026|1,234.6|-SEK\u{a0}12.50"
        );
        let bad = serde_json::json!({"at": "yesterday", "day": "x", "n": "x", "m": "x"});
        assert!(tpl.render("f.html", &en, &bad).is_err());
    }
}
