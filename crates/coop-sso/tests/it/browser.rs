//! coop-sso's sign-in and invite pages in a real browser: Debian's headless Chromium, driven by
//! `tests/browser/a11y.mjs` (playwright-core), scans every page with axe-core and checks the
//! house rules axe does not know (language, one h1, skip link, names of controls, the error
//! summary, keyboard reach). Each page is checked in English and in Swedish, signed out, after a
//! failed submit, and signed in. `bash tests/browser/setup.sh` installs Chromium and the npm
//! packages first (see tests/browser/README.md).
//!
//! The screenshots of each page (en and sv, light and dark, desktop and phone) are kept in
//! `target/screenshots/coop-sso/`, or in `COOP_SCREENSHOT_DIR` when it is set.

use crate::binary;

use std::path::Path;

use coop_sso::domain::{MemberStatus, Role};
use coop_sso::members::{self, NewMember};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

const MEMBER_EMAIL: &str = "asa@example.org";
/// One admin per language: each enrols a second factor in its own session.
fn admin_email(lang: &str) -> String {
    format!("admin-{lang}@example.org")
}
const PASSWORD: &str = "browser test password";

async fn add_member(
    pool: &PgPool,
    name: &str,
    email: &str,
    roles: Vec<Role>,
    status: MemberStatus,
) -> Uuid {
    let password_hash = match status {
        MemberStatus::Invited => None,
        _ => Some(coop_sso::password::hash(PASSWORD.into()).await.unwrap()),
    };
    members::create(
        pool,
        &coop_domain::MemberNumberFormat::default(),
        NewMember {
            name: name.into(),
            email: coop_domain::EmailAddress::parse(email).unwrap(),
            preferred_lang: coop_web::Lang::Sv,
            roles,
            status,
            password_hash,
        },
        None,
    )
    .await
    .unwrap()
    .member_id
}

/// An invite link for a new member, stored the way the invite flow stores it: only the hash.
async fn invite(pool: &PgPool, name: &str, email: &str) -> String {
    let member_id = add_member(pool, name, email, vec![Role::Member], MemberStatus::Invited).await;
    let token = coop_sso::secrets::new_token();
    sqlx::query(
        "insert into login_link (token_hash, member_id, purpose, expires_at)
         values ($1, $2, 'invite', now() + interval '7 days')",
    )
    .bind(coop_sso::secrets::hash(&token))
    .bind(member_id)
    .execute(pool)
    .await
    .unwrap();
    token
}

async fn start(dir: &Path) -> (binary::Binary, Uuid) {
    let server = binary::start(dir, |_| {}).await;
    let member = add_member(
        &server.pool,
        "Åsa Öberg",
        MEMBER_EMAIL,
        vec![Role::Member],
        MemberStatus::Active,
    )
    .await;
    for lang in ["en", "sv"] {
        add_member(
            &server.pool,
            &format!("Ada Admin ({lang})"),
            &admin_email(lang),
            vec![Role::Member, Role::Admin],
            MemberStatus::Active,
        )
        .await;
    }
    (server, member)
}

/// The words on the pages that the plan fills fields and presses buttons by: labels, not
/// names, so the checks also prove each label reaches its field.
struct Words {
    lang: &'static str,
    email: &'static str,
    password: &'static str,
    sign_in: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    email: "Email address",
    password: "Password",
    sign_in: "Sign in",
};

const SWEDISH: Words = Words {
    lang: "sv",
    email: "E-postadress",
    password: "Lösenord",
    sign_in: "Logga in",
};

fn check(name: &str, w: &Words, extra: Value) -> Value {
    coop_testkit::browser::check(name, w.lang, extra)
}

fn sign_in_steps(w: &Words) -> Value {
    let l = w.lang;
    json!({ "name": format!("signed out, then member ({l})"), "steps": [
        { "visit": format!("/?lang={l}") },
        check("landing", w, json!({ "expect_path": "/", "expect_status": 200 })),
        { "visit": format!("/login?lang={l}") },
        check("sign-in", w, json!({ "expect_path": "/login", "expect_status": 200 })),
        { "fill": [{ "label": w.email, "value": "nobody@example.org" }, { "label": w.password, "value": "wrong password" }] },
        { "submit": "enter" },
        check("sign-in wrong password", w,
              json!({ "expect_status": 401, "expect_errors": true, "expect_error_links": [] })),
        { "fill": [{ "label": w.email, "value": "" }, { "label": w.password, "value": "" }] },
        { "submit": { "button": w.sign_in } },
        check("sign-in empty", w,
              json!({ "expect_status": 422, "expect_errors": true, "expect_error_links": ["#email"] })),
        { "fill": [{ "label": w.email, "value": MEMBER_EMAIL }, { "label": w.password, "value": PASSWORD }] },
        { "submit": "enter" },
        check("account", w, json!({ "expect_path": "/account", "expect_status": 200,
                                     "expect_selector": ["#member-name", ".site-header .viewer button"] })),
        { "visit": format!("/styleguide?lang={l}") },
        // It shows an error summary on purpose, with one link to its invalid field.
        check("styleguide", w, json!({ "expect_status": 200, "expect_errors": true, "expect_error_links": ["#sg-email"],
                                        "expect_selector": ["table .num", ".summary-list", ".pagination"] })),
    ]})
}

fn totp_steps(w: &Words, member: Uuid) -> Value {
    let l = w.lang;
    json!({ "name": format!("admin enrols a second factor, then administers ({l})"), "steps": [
        { "visit": format!("/login?lang={l}") },
        { "fill": [{ "label": w.email, "value": admin_email(l) }, { "label": w.password, "value": PASSWORD }] },
        { "submit": "enter" },
        check("totp enrolment", w,
              json!({ "expect_path": "/login/totp", "expect_status": 200, "expect_selector": "#totp-secret" })),
        // Five digits are never a valid code.
        { "fill": { "name": "code", "value": "12345" } },
        { "submit": "enter" },
        check("totp enrolment wrong code", w,
              json!({ "expect_status": 401, "expect_errors": true, "expect_error_links": ["#code"] })),
        // The secret as shown on the page, into an authenticator: the right code this time.
        { "fill": { "name": "code", "totp_from": "#totp-secret" } },
        { "submit": "enter" },
        { "visit": format!("/admin/members?lang={l}") },
        check("admin members", w, json!({ "expect_path": "/admin/members", "expect_status": 200,
                                           "expect_selector": [".table-wrap table", ".subnav [aria-current]"] })),
        { "visit": format!("/admin/members/{member}?lang={l}") },
        check("admin member", w, json!({ "expect_status": 200, "expect_selector": ".summary-list" })),
        { "visit": format!("/admin/audit?lang={l}") },
        check("admin audit", w, json!({ "expect_path": "/admin/audit", "expect_status": 200,
                                         "expect_selector": "table time" })),
    ]})
}

fn invite_steps(w: &Words, token: &str) -> Value {
    let l = w.lang;
    json!({ "name": format!("invite ({l})"), "steps": [
        { "visit": format!("/invite/{token}?lang={l}") },
        check("invite acceptance", w, json!({ "expect_path": format!("/invite/{token}"), "expect_status": 200,
                                               "expect_selector": "main form input[type=password]" })),
        // By type, not label: the invite page's wording is still being written.
        { "fill": { "selector": "main input[type=password]", "all": true, "value": "abc" } },
        { "submit": "enter" },
        check("invite too-short password", w,
              json!({ "expect_status": 422, "expect_errors": true, "expect_error_links": ["#password"] })),
    ]})
}

#[tokio::test]
async fn external_sign_in_and_invite_pages_pass_the_browser_checks() {
    let dir = tempfile::tempdir().unwrap();
    let (server, member) = start(dir.path()).await;

    let mut sessions = Vec::new();
    for w in [&ENGLISH, &SWEDISH] {
        let token = invite(
            &server.pool,
            &format!("Invited {}", w.lang),
            &format!("invited-{}@example.org", w.lang),
        )
        .await;
        sessions.push(sign_in_steps(w));
        sessions.push(totp_steps(w, member));
        sessions.push(invite_steps(w, &token));
    }

    // Kept after the test, as its artefacts: target/screenshots/coop-sso unless told otherwise.
    coop_testkit::browser::run("coop-sso", &server.base_url, sessions);
}
