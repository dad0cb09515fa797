//! The co-op's people, each at a browser of their own: invited, accepting by the emailed link,
//! signing in at coop-sso (with the second factor for admins and bookkeepers), and from there
//! at every other service without typing anything again.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::{Browser, Page};
use crate::suite::Suite;

pub struct Person {
    pub name: &'static str,
    pub email: &'static str,
    pub password: String,
    pub browser: Browser,
    /// The authenticator app's secret, once enrolled.
    pub totp: Option<coop_sso::totp::TotpSecret>,
}

impl Person {
    pub fn new(name: &'static str, email: &'static str) -> Self {
        Self {
            name,
            email,
            password: format!("a long passphrase for {email}"),
            browser: Browser::new(name),
            totp: None,
        }
    }

    /// Opens an invitation link and chooses a password; with the second factor asked for
    /// (admins and bookkeepers), enrols it.
    pub async fn accept(&mut self, link: &str) -> Page {
        let page = self.browser.get(link).await;
        assert!(
            page.text().contains(self.name),
            "{}: the invitation does not name them:\n{}",
            self.name,
            page.text()
        );
        let password = self.password.clone();
        let page = self
            .browser
            .submit(
                &page,
                None,
                &[
                    ("password", password.as_str()),
                    ("password_repeat", password.as_str()),
                ],
                None,
            )
            .await;
        self.second_factor(page).await
    }

    /// Where coop-sso asks for the second factor, gives it (enrolling at the first time).
    async fn second_factor(&mut self, page: Page) -> Page {
        if page.path() != "/login/totp" {
            return page;
        }
        let marker = "id=\"totp-secret\">";
        if let Some(at) = page.body.find(marker) {
            let start = at + marker.len();
            let b32 = &page.body[start..start + page.body[start..].find('<').unwrap()];
            let bytes = data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).unwrap();
            self.totp = Some(coop_sso::totp::TotpSecret::from_bytes(&bytes).unwrap());
        }
        let secret = self
            .totp
            .as_ref()
            .unwrap_or_else(|| panic!("{}: asked for a code before enrolling", self.name));
        // A code is good once: a second sign-in within the same 30 s takes the next one.
        let now = chrono::Utc::now().timestamp();
        for at in [now, now + 30] {
            let code = coop_sso::totp::code_at(secret, at);
            let out = self
                .browser
                .submit_any(&page, Some("/login/totp"), &[("code", code.as_str())], None)
                .await;
            if out.status < 400 {
                return out;
            }
        }
        panic!("{}: the second factor was refused", self.name)
    }

    /// Fills in and sends coop-sso's sign-in form shown on `page`, with the second factor
    /// when asked.
    async fn login_form(&mut self, page: &Page) -> Page {
        let password = self.password.clone();
        let page = self
            .browser
            .submit(
                page,
                Some("/login"),
                &[("email", self.email), ("password", password.as_str())],
                None,
            )
            .await;
        self.second_factor(page).await
    }

    /// Approves a device (a till) by the code on its screen at coop-sso's `/device`, naming it,
    /// as a manager does; checks coop-sso says it is paired.
    pub async fn approve_device(&mut self, suite: &Suite, code: &str, name: &str) {
        let page = self.open(suite, "sso", "/device").await;
        let page = self
            .browser
            .submit(&page, Some("/device"), &[("user_code", code)], None)
            .await;
        let page = self
            .browser
            .submit(
                &page,
                Some("/device"),
                &[("name", name)],
                Some(("decision", "approve")),
            )
            .await;
        assert!(page.text().contains(name), "{}", page.text());
    }

    /// Signs in at coop-sso's form.
    pub async fn sign_in(&mut self, suite: &Suite) -> Page {
        let page = self
            .browser
            .get(&format!("{}/login", suite.url("sso")))
            .await;
        // Signed in already (an accepted invitation signs in): coop-sso shows the account.
        let page = if page.path() == "/login" {
            self.login_form(&page).await
        } else {
            page
        };
        let account = self
            .browser
            .get(&format!("{}/account", suite.url("sso")))
            .await;
        assert_eq!(account.path(), "/account", "{} is not signed in", self.name);
        assert!(account.text().contains(self.name));
        page
    }

    /// Opens `path` at service `key`, signing in through coop-sso when sent there (the
    /// session at coop-sso signs them in without a form when there is one).
    pub async fn open(&mut self, suite: &Suite, key: &str, path: &str) -> Page {
        let url = format!("{}{path}", suite.url(key));
        let page = self.browser.get(&url).await;
        let sso = suite.url("sso");
        if page.url.starts_with(sso) && page.path() == "/login" {
            let page = self.login_form(&page).await;
            assert!(
                page.url.starts_with(suite.url(key)),
                "{}: signing in for {url} ended at {}",
                self.name,
                page.url
            );
            return page;
        }
        page
    }
}

/// The newest message to `to` whose subject contains `subject`, waited for (up to 20 s).
pub async fn mail_to(suite: &Suite, to: &str, subject: &str) -> Value {
    let started = Instant::now();
    loop {
        let n = suite.smtp.count();
        for i in (1..=n).rev() {
            let m = suite.smtp.message(i).await;
            if m["to"].to_string().contains(to)
                && m["subject"].as_str().unwrap_or_default().contains(subject)
            {
                return m;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no mail to {to} about {subject:?} ({n} messages arrived)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The one link in a mail's text that starts with `prefix`.
pub fn link_in(text: &str, prefix: &str) -> String {
    let links: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.starts_with(prefix))
        .collect();
    assert_eq!(links.len(), 1, "one link starting {prefix} in {text}");
    links[0].to_owned()
}
