//! Reading HTML pages in tests with `scraper` (html5ever, the parser browsers' rules describe),
//! never with string searches that an attribute order or an entity breaks.

use scraper::{Html, Selector};

/// A parsed page.
#[derive(Debug)]
pub struct Page(Html);

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("bad selector {css:?}: {e}"))
}

impl Page {
    pub fn parse(html: &str) -> Self {
        Self(Html::parse_document(html))
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        self.0.select(&selector(css)).count()
    }

    /// The text of every element matching `css`, white space folded.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.0
            .select(&selector(css))
            .map(|e| {
                e.text()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// The text of the one element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let all = self.texts(css);
        assert_eq!(all.len(), 1, "expected one {css}, found {}", all.len());
        all.into_iter().next().unwrap_or_default()
    }

    /// The attribute `name` of every element matching `css` that has it.
    pub fn attrs(&self, css: &str, name: &str) -> Vec<String> {
        self.0
            .select(&selector(css))
            .filter_map(|e| e.value().attr(name).map(str::to_owned))
            .collect()
    }

    /// The value of the form field named `name` (an `input`), as a browser would submit it.
    pub fn input(&self, name: &str) -> Option<String> {
        self.attrs(&format!("input[name=\"{name}\"]"), "value")
            .into_iter()
            .next()
    }

    /// The `lang` of the document.
    pub fn lang(&self) -> Option<String> {
        self.attrs("html", "lang").into_iter().next()
    }

    /// The links of the error summary (`#field` targets), empty when there is none.
    pub fn error_links(&self) -> Vec<String> {
        self.attrs(".error-summary a[href]", "href")
    }
}

/// The value of the input named `name` (e.g. `csrf_token`) in an HTML page.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    Page::parse(html).input(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inputs_whatever_the_attribute_order_and_entities() {
        let html = r##"<!doctype html><html lang="sv"><body>
            <form><input value="a&amp;b&#x2F;c" type="hidden" name="csrf_token">
            <input name="email" type="email"></form>
            <div class="error-summary"><a href="#email">Fel</a></div>
            <h1>  Hej
               där </h1></body></html>"##;
        let page = Page::parse(html);
        assert_eq!(page.input("csrf_token").as_deref(), Some("a&b/c"));
        assert_eq!(page.input("email"), None);
        assert_eq!(page.lang().as_deref(), Some("sv"));
        assert_eq!(page.error_links(), vec!["#email"]);
        assert_eq!(page.text("h1"), "Hej där");
        assert_eq!(page.count("input"), 2);
    }
}
