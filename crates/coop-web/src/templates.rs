//! Tera templates: the kit's base layout (skip link, landmarks, `lang`, error summary, language
//! switcher) plus each service's own templates, all embedded in the binary.

use std::collections::HashMap;
use std::sync::Arc;

use fluent_bundle::FluentValue;
use serde::Serialize;
use tera::{Context, Tera, Value};

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

/// What the base layout needs on every page.
#[derive(Debug, Clone, Serialize)]
pub struct PageContext {
    pub lang: Lang,
    pub org_name: String,
    pub base_path: String,
    pub home_url: String,
    pub nav: Vec<NavItem>,
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
            languages,
            csrf_token: None,
        }
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
        Ok(Self {
            tera: Arc::new(tera),
            translations,
        })
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
}
