//! A person at a browser without JavaScript: a cookie jar, redirects followed one by one, and
//! forms filled in as a browser submits them (hidden fields such as the CSRF token kept, the
//! selected option of a select, only checked boxes).

use reqwest::header::LOCATION;
use scraper::{Html, Selector};

pub struct Browser {
    http: reqwest::Client,
    pub name: &'static str,
}

/// A page as the browser ended on it.
#[derive(Debug, Clone)]
pub struct Page {
    pub url: String,
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub method: String,
    pub fields: Vec<(String, String)>,
    /// The names of password fields.
    pub passwords: Vec<String>,
    /// The submit buttons' (name, value), in order.
    pub buttons: Vec<(String, String)>,
    /// Every field's name, unchecked boxes included.
    pub names: Vec<String>,
}

fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

impl Page {
    /// The page's forms.
    pub fn forms(&self) -> Vec<Form> {
        let doc = Html::parse_document(&self.body);
        let mut out = Vec::new();
        for form in doc.select(&sel("form")) {
            let v = form.value();
            let mut f = Form {
                action: v.attr("action").unwrap_or("").to_owned(),
                method: v.attr("method").unwrap_or("get").to_lowercase(),
                fields: Vec::new(),
                passwords: Vec::new(),
                buttons: Vec::new(),
                names: Vec::new(),
            };
            for field in form.select(&sel("input, textarea, select, button")) {
                let a = field.value();
                let Some(name) = a.attr("name") else { continue };
                let kind = a.attr("type").unwrap_or("text").to_lowercase();
                f.names.push(name.to_owned());
                match (a.name(), kind.as_str()) {
                    ("button", "submit" | "text") | ("input", "submit") => f
                        .buttons
                        .push((name.to_owned(), a.attr("value").unwrap_or("").to_owned())),
                    ("button", _) | ("input", "button" | "image" | "reset") => {}
                    ("input", "checkbox" | "radio") if a.attr("checked").is_none() => {}
                    ("select", _) => {
                        let options: Vec<_> = field.select(&sel("option")).collect();
                        let chosen = options
                            .iter()
                            .find(|o| o.value().attr("selected").is_some())
                            .or(options.first());
                        if let Some(o) = chosen {
                            let value = o.value().attr("value").map_or_else(
                                || o.text().collect::<String>().trim().to_owned(),
                                str::to_owned,
                            );
                            f.fields.push((name.to_owned(), value));
                        }
                    }
                    ("textarea", _) => f
                        .fields
                        .push((name.to_owned(), field.text().collect::<String>())),
                    _ => {
                        if kind == "password" {
                            f.passwords.push(name.to_owned());
                        }
                        f.fields
                            .push((name.to_owned(), a.attr("value").unwrap_or("").to_owned()));
                    }
                }
            }
            out.push(f);
        }
        out
    }

    /// The text of the page (its `main`, or the whole body), white space folded.
    pub fn text(&self) -> String {
        let doc = Html::parse_document(&self.body);
        let main = doc
            .select(&sel("main"))
            .next()
            .or_else(|| doc.select(&sel("body")).next());
        main.map(|m| {
            m.text()
                .collect::<Vec<_>>()
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
    }

    /// Every `href` of links matching `css`, made absolute.
    pub fn links(&self, css: &str) -> Vec<String> {
        let doc = Html::parse_document(&self.body);
        let base = reqwest::Url::parse(&self.url).unwrap();
        doc.select(&sel(css))
            .filter_map(|a| a.value().attr("href"))
            .filter_map(|h| base.join(h).ok())
            .map(String::from)
            .collect()
    }

    pub fn path(&self) -> String {
        reqwest::Url::parse(&self.url).unwrap().path().to_owned()
    }
}

impl Browser {
    pub fn new(name: &'static str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            name,
        }
    }

    /// One request, redirects not followed.
    pub async fn raw(&self, url: &str, form: Option<&[(String, String)]>) -> reqwest::Response {
        let req = match form {
            Some(fields) => self.http.post(url).form(fields),
            None => self.http.get(url),
        };
        req.send()
            .await
            .unwrap_or_else(|e| panic!("{}: {url}: {e}", self.name))
    }

    /// A GET that may find nothing listening yet: `None` then.
    pub async fn try_get(&self, url: &str) -> Option<Page> {
        let r = self.http.get(url).send().await.ok()?;
        let status = r.status().as_u16();
        let body = r.text().await.ok()?;
        Some(Page {
            url: url.to_owned(),
            status,
            body,
        })
    }

    /// Follows redirects as a browser does, until `stop` holds for a redirect's target (then
    /// that target is returned, unfetched, with the redirect's status).
    pub async fn go_until(
        &self,
        url: &str,
        form: Option<Vec<(String, String)>>,
        stop: impl Fn(&str) -> bool,
    ) -> Page {
        let mut url = url.to_owned();
        let mut form = form;
        for _ in 0..20 {
            let r = self.raw(&url, form.as_deref()).await;
            form = None;
            let status = r.status().as_u16();
            if (300..400).contains(&status) {
                let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
                let next = reqwest::Url::parse(&url)
                    .unwrap()
                    .join(&location)
                    .unwrap()
                    .to_string();
                if stop(&next) {
                    return Page {
                        url: next,
                        status,
                        body: String::new(),
                    };
                }
                url = next;
                continue;
            }
            let body = r.text().await.unwrap();
            return Page { url, status, body };
        }
        panic!("{}: more than 20 redirects from {url}", self.name)
    }

    /// GET, following redirects; the last answer must be a success.
    pub async fn get(&self, url: &str) -> Page {
        let page = self.go_until(url, None, |_| false).await;
        assert!(
            page.status < 400,
            "{}: {} answered {}:\n{}",
            self.name,
            page.url,
            page.status,
            page.text()
        );
        page
    }

    /// Submits the page's first form that has every field of `fill` (and whose action
    /// contains `action`, when given), as a browser would, with `fill` typed in and the
    /// button `button` (name, value) pressed, when given. Follows redirects; returns the last
    /// answer, whatever its status.
    pub async fn submit_any(
        &self,
        page: &Page,
        action: Option<&str>,
        fill: &[(&str, &str)],
        button: Option<(&str, &str)>,
    ) -> Page {
        let forms = page.forms();
        let form = forms
            .iter()
            .find(|f| {
                action.is_none_or(|a| f.action.contains(a))
                    && fill.iter().all(|(k, _)| f.names.iter().any(|n| n == k))
                    && button.is_none_or(|(n, v)| f.buttons.iter().any(|b| b.0 == n && b.1 == v))
            })
            .unwrap_or_else(|| {
                panic!(
                    "{}: {}: no form with {fill:?} (action {action:?}); forms: {forms:#?}\n{}",
                    self.name,
                    page.url,
                    page.text()
                )
            });
        assert_eq!(form.method, "post", "{}: the form is not POSTed", page.url);
        let mut fields: Vec<(String, String)> = form
            .fields
            .iter()
            .filter(|(n, _)| !fill.iter().any(|(k, _)| k == n))
            .cloned()
            .collect();
        fields.extend(fill.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        if let Some((n, v)) = button {
            fields.push((n.to_owned(), v.to_owned()));
        }
        let target = reqwest::Url::parse(&page.url)
            .unwrap()
            .join(&form.action)
            .unwrap()
            .to_string();
        self.go_until(&target, Some(fields), |_| false).await
    }

    /// [`Browser::submit_any`], the last answer a success.
    pub async fn submit(
        &self,
        page: &Page,
        action: Option<&str>,
        fill: &[(&str, &str)],
        button: Option<(&str, &str)>,
    ) -> Page {
        let out = self.submit_any(page, action, fill, button).await;
        assert!(
            out.status < 400,
            "{}: submitting {fill:?} on {} answered {} at {}:\n{}",
            self.name,
            page.url,
            out.status,
            out.url,
            out.text()
        );
        out
    }
}
