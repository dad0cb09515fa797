//! Invitations and password resets: links by mail through a real SMTP server (aiosmtpd, see
//! tests/interop/README.md), single use, expiry on the injected clock, and throttling.

#[cfg(feature = "interop")]
use std::time::{Duration, Instant};

use crate::common::*;
use chrono::Duration as Span;
use coop_sso::directory::{self, Invitee};
use coop_sso::domain::Role;
use coop_testkit::http::hidden_input;
use uuid::Uuid;

#[cfg(feature = "interop")]
use coop_testkit::smtp::SmtpCapture as MailCatcher;

#[cfg(feature = "interop")]
/// The one link in a mail's text that starts with `prefix`.
fn link_in(text: &str, prefix: &str) -> String {
    let links: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.starts_with(prefix))
        .collect();
    assert_eq!(links.len(), 1, "one link in {text}");
    links[0].to_owned()
}

/// Submits the password form of `link` (an absolute URL of an invite or reset page), as a
/// browser that has seen a page of the site.
async fn choose_password(
    sso: &Sso,
    b: &reqwest::Client,
    link: &str,
    password: &str,
    repeat: &str,
) -> reqwest::Response {
    let csrf = csrf_token(sso, b).await;
    b.post(link)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("password", password),
            ("password_repeat", repeat),
        ])
        .send()
        .await
        .unwrap()
}

async fn member_row(sso: &Sso, email: &str) -> (Uuid, String, bool) {
    sqlx::query_as("select member_id, status, email_verified from member where email = $1")
        .bind(email)
        .fetch_one(sso.state.db())
        .await
        .unwrap()
}

async fn invite_directly(sso: &Sso, email: &str, roles: &[Role]) -> (Uuid, String) {
    let invitee = Invitee {
        name: "Ines Invited".into(),
        email: coop_domain::EmailAddress::parse(email).unwrap(),
        lang: coop_web::Lang::En,
        roles: roles.to_vec(),
    };
    let (row, token) = directory::invite(
        sso.state.db(),
        &sso.state.kit.coop.member_number,
        invitee,
        None,
        sso.clock.now(),
    )
    .await
    .unwrap();
    (row.member_id, sso.url(&format!("/invite/{token}")))
}

const NEW_PASSWORD: &str = "a brand new passphrase";

#[cfg(feature = "interop")]
#[tokio::test]
async fn external_an_invitation_arrives_by_mail_and_its_link_makes_an_active_member() {
    let mail = MailCatcher::start(false);
    let sso = spawn_with(|c| mail.configure(c)).await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;

    let r = post_form(
        &sso,
        &admin,
        "/admin/members/invite",
        &[
            ("email", "nils@example.org"),
            ("name", "Nils Holm"),
            ("lang", "sv"),
            ("role", "member"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("We sent the invitation to nils@example.org."),
        "{page}"
    );
    assert!(
        !page.contains("invite_link"),
        "a mailed link is not shown to the admin"
    );

    let got = mail.message(1).await;
    assert_eq!(got["envelope_to"], "nils@example.org");
    assert_eq!(
        got["subject"],
        "Din inbjudan till Testköpinge Matkooperativ"
    );
    let text = got["text"].as_str().unwrap();
    assert!(text.starts_with("Hej Nils Holm!"), "{text}");
    let link = link_in(text, &format!("{}/invite/", sso.state.issuer));

    let b = browser();
    let r = b.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    assert!(page.contains("Nils Holm") && page.contains("nils@example.org"));
    // Bad passwords: the form again, with the reason, and nothing changes.
    for (password, repeat, message) in [
        ("short", "short", "at least 10 characters"),
        (
            NEW_PASSWORD,
            "something else entirely",
            "The two passwords are not the same.",
        ),
    ] {
        let r = choose_password(&sso, &b, &link, password, repeat).await;
        assert_eq!(r.status(), 422);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("role=\"alert\"") && page.contains(message),
            "{page}"
        );
        assert_eq!(member_row(&sso, "nils@example.org").await.1, "invited");
    }
    let r = choose_password(&sso, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
    let account = b.get(sso.url("/account")).send().await.unwrap();
    assert_eq!(account.status(), 200, "signed in right away");
    assert!(account.text().await.unwrap().contains("Nils Holm"));
    let (id, status, verified) = member_row(&sso, "nils@example.org").await;
    assert_eq!(status, "active");
    assert!(
        verified,
        "the link came by mail, so the address is confirmed"
    );
    let (kind, payload): (String, serde_json::Value) =
        sqlx::query_as("select kind, payload from feed_event order by feed_event_id desc limit 1")
            .fetch_one(sso.state.db())
            .await
            .unwrap();
    assert_eq!(
        (kind.as_str(), payload["status"].as_str()),
        ("member.changed", Some("active"))
    );
    assert_eq!(payload["sub"], id.to_string());

    // Single use.
    assert_eq!(browser().get(&link).send().await.unwrap().status(), 410);
    let r = choose_password(
        &sso,
        &b,
        &link,
        "yet another passphrase",
        "yet another passphrase",
    )
    .await;
    assert_eq!(r.status(), 410);
    // The password works for signing in.
    let r = sign_in(
        &sso,
        &browser(),
        "nils@example.org",
        NEW_PASSWORD,
        "/account",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
}

#[tokio::test]
async fn without_mail_the_admin_hands_over_the_link() {
    let sso = spawn().await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;
    let r = post_form(
        &sso,
        &admin,
        "/admin/members/invite",
        &[
            ("email", "ola@example.org"),
            ("name", "Ola Ek"),
            ("lang", "en"),
            ("role", "member"),
        ],
    )
    .await;
    let page = r.text().await.unwrap();
    let link = hidden_input(&page, "invite_link").unwrap();
    let b = browser();
    assert_eq!(
        choose_password(&sso, &b, &link, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .status(),
        303
    );
    let (_, status, verified) = member_row(&sso, "ola@example.org").await;
    assert_eq!(status, "active");
    assert!(
        !verified,
        "a handed-over link proves nothing about the address"
    );
}

#[tokio::test]
async fn invitations_expire_after_seven_days() {
    let sso = spawn().await;
    let (id, link) = invite_directly(&sso, "late@example.org", &[Role::Member]).await;
    let b = browser();
    let page = b.get(&link).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_input(&page, "csrf_token").unwrap();
    sso.clock.advance(Span::days(7) + Span::minutes(1));
    let r = b.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("does not work any more"));
    // Even with the form already open.
    let r = b
        .post(&link)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("password", NEW_PASSWORD),
            ("password_repeat", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert_eq!(member_row(&sso, "late@example.org").await.1, "invited");
    let has_password: bool =
        sqlx::query_scalar("select password_hash is not null from member where member_id = $1")
            .bind(id)
            .fetch_one(sso.state.db())
            .await
            .unwrap();
    assert!(!has_password);
    // Just inside the week, a fresh one works.
    let (_, link) = invite_directly(&sso, "ontime@example.org", &[Role::Member]).await;
    sso.clock.advance(Span::days(7) - Span::minutes(1));
    assert_eq!(
        choose_password(&sso, &browser(), &link, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn sending_an_invitation_again_retires_the_old_link_and_suspension_stops_it() {
    let sso = spawn().await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;
    let (id, old) = invite_directly(&sso, "ines@example.org", &[Role::Member]).await;
    let r = post_form(&sso, &admin, &format!("/admin/members/{id}/invite"), &[]).await;
    assert_eq!(r.status(), 200);
    let new = hidden_input(&r.text().await.unwrap(), "invite_link").unwrap();
    assert_ne!(old, new);
    assert_eq!(browser().get(&old).send().await.unwrap().status(), 410);
    assert_eq!(browser().get(&new).send().await.unwrap().status(), 200);

    // Suspended: the link stops working; reactivated, she is invited again (no password yet).
    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{id}/status"),
        &[("action", "suspend")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(browser().get(&new).send().await.unwrap().status(), 410);
    let r = post_form(&sso, &admin, &format!("/admin/members/{id}/invite"), &[]).await;
    assert_eq!(r.status(), 422, "only invited members get invitations");
    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{id}/status"),
        &[("action", "reactivate")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(member_row(&sso, "ines@example.org").await.1, "invited");
    assert_eq!(
        browser().get(&new).send().await.unwrap().status(),
        410,
        "spent on suspension"
    );
    let r = post_form(&sso, &admin, &format!("/admin/members/{id}/invite"), &[]).await;
    let again = hidden_input(&r.text().await.unwrap(), "invite_link").unwrap();
    assert_eq!(
        choose_password(&sso, &browser(), &again, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .status(),
        303
    );
    // Accepting needs the form's CSRF token.
    let (_, link) = invite_directly(&sso, "csrf@example.org", &[Role::Member]).await;
    let r = browser()
        .post(&link)
        .form(&[
            ("password", NEW_PASSWORD),
            ("password_repeat", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(member_row(&sso, "csrf@example.org").await.1, "invited");
}

#[cfg(feature = "interop")]
async fn forgot(sso: &Sso, b: &reqwest::Client, email: &str, client: &str) -> reqwest::Response {
    let csrf = csrf_token(sso, b).await;
    b.post(sso.url("/forgot"))
        .header("x-real-ip", client)
        .form(&[("csrf_token", csrf.as_str()), ("email", email)])
        .send()
        .await
        .unwrap()
}

#[cfg(feature = "interop")]
#[tokio::test]
async fn external_a_password_reset_by_mail_signs_out_everywhere_else() {
    let mail = MailCatcher::start(false);
    let sso = spawn_with(|c| mail.configure(c)).await;
    sso.member("Eva Lind", "eva@example.org", &[Role::Member])
        .await;
    // Signed in elsewhere, with tokens at a relying party.
    let elsewhere = browser();
    let p = pkce();
    let code = query_param(
        &get_code(&sso, &elsewhere, "eva@example.org", &p).await,
        "code",
    )
    .unwrap();
    let t: serde_json::Value = exchange(&sso, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();

    let b = browser();
    let r = forgot(&sso, &b, "Eva@example.org", "10.0.0.1").await;
    assert_eq!(r.status(), 200);
    let answer = r.text().await.unwrap();
    assert!(answer.contains("If eva@example.org belongs to a member, a link is on its way to it."));
    let got = mail.message(1).await;
    assert_eq!(got["envelope_to"], "eva@example.org");
    assert_eq!(
        got["subject"],
        "Choose a new password for Testköpinge Matkooperativ"
    );
    let link = link_in(
        got["text"].as_str().unwrap(),
        &format!("{}/reset/", sso.state.issuer),
    );

    let r = choose_password(&sso, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
    let page = b
        .get(sso.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page
        .contains("Your password has been changed and you have been signed out everywhere else."));
    // Everywhere else is signed out, and the relying party's tokens are dead.
    assert!(
        location(&elsewhere.get(sso.url("/account")).send().await.unwrap()).starts_with("/login")
    );
    let r = refresh(&sso, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // The old password is gone, the new one works, the link is spent.
    assert_eq!(
        sign_in(&sso, &browser(), "eva@example.org", PASSWORD, "/account")
            .await
            .status(),
        401
    );
    let r = sign_in(
        &sso,
        &browser(),
        "eva@example.org",
        NEW_PASSWORD,
        "/account",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(browser().get(&link).send().await.unwrap().status(), 410);
    // The last change to the member (sign-ins are audited after it).
    let (actor, action): (Option<Uuid>, String) = sqlx::query_as(
        "select actor_id, action from audit_event where action like 'member.%'
         order by audit_event_id desc limit 1",
    )
    .fetch_one(sso.state.db())
    .await
    .unwrap();
    assert_eq!(action, "member.password_reset");
    assert!(actor.is_some());
}

#[cfg(feature = "interop")]
#[tokio::test]
async fn external_forgot_answers_alike_for_unknown_addresses_and_is_throttled() {
    let mail = MailCatcher::start(false);
    let sso = spawn_with(|c| mail.configure(c)).await;
    sso.member("Eva Lind", "eva@example.org", &[Role::Member])
        .await;
    let b = browser();
    let known = forgot(&sso, &b, "eva@example.org", "10.0.0.1").await;
    let unknown = forgot(&sso, &b, "nobody@example.org", "10.0.0.1").await;
    assert_eq!(known.status(), unknown.status());
    let known = known
        .text()
        .await
        .unwrap()
        .replace("eva@example.org", "ADDRESS");
    let unknown = unknown
        .text()
        .await
        .unwrap()
        .replace("nobody@example.org", "ADDRESS");
    assert_eq!(known, unknown, "the same page either way");
    mail.message(1).await;
    assert_eq!(
        count(
            &sso,
            "select count(*) from login_link where purpose = 'reset'"
        )
        .await,
        1,
        "a link only for the known address"
    );
    // A malformed address is a form error, not a silent success.
    let r = forgot(&sso, &b, "not an address", "10.0.0.1").await;
    assert_eq!(r.status(), 422);

    // Three requests an hour per address, whoever asks.
    for client in ["10.0.0.2", "10.0.0.3"] {
        assert_eq!(
            forgot(&sso, &b, "eva@example.org", client).await.status(),
            200
        );
    }
    let r = forgot(&sso, &b, "eva@example.org", "10.0.0.4").await;
    assert_eq!(r.status(), 429);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Too many links have been asked for."));
    // Twenty an hour per client, whatever the address.
    for i in 0..18 {
        let r = forgot(&sso, &b, &format!("x{i}@example.org"), "10.0.0.1").await;
        assert_eq!(r.status(), 200, "request {i}");
    }
    assert_eq!(
        forgot(&sso, &b, "y@example.org", "10.0.0.1").await.status(),
        429
    );
    assert_eq!(
        forgot(&sso, &b, "y@example.org", "10.0.0.9").await.status(),
        200
    );
    // The allowance comes back after an hour.
    sso.clock.advance(Span::minutes(61));
    assert_eq!(
        forgot(&sso, &b, "eva@example.org", "10.0.0.1")
            .await
            .status(),
        200
    );
    // Throttling never locks sign-in.
    assert_eq!(
        sign_in(&sso, &browser(), "eva@example.org", PASSWORD, "/account")
            .await
            .status(),
        303
    );
    let sent = 4;
    let deadline = Instant::now() + Duration::from_secs(15);
    while mail.count() < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        mail.count(),
        sent,
        "mail only for the known address, when allowed"
    );
}

async fn reset_link(sso: &Sso, email: &str) -> String {
    let (_, token) = directory::issue_reset(
        sso.state.db(),
        &coop_domain::EmailAddress::parse(email).unwrap(),
        sso.clock.now(),
    )
    .await
    .unwrap()
    .expect("an active member");
    sso.url(&format!("/reset/{token}"))
}

#[tokio::test]
async fn reset_links_expire_after_an_hour_and_work_once() {
    let sso = spawn().await;
    sso.member("Eva Lind", "eva@example.org", &[Role::Member])
        .await;
    let late = reset_link(&sso, "eva@example.org").await;
    sso.clock.advance(Span::minutes(61));
    let r = browser().get(&late).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("href=\"/forgot\""));

    let link = reset_link(&sso, "eva@example.org").await;
    let other = reset_link(&sso, "eva@example.org").await;
    sso.clock.advance(Span::minutes(59));
    assert_eq!(
        choose_password(&sso, &browser(), &link, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        choose_password(
            &sso,
            &browser(),
            &link,
            "third passphrase!",
            "third passphrase!"
        )
        .await
        .status(),
        410
    );
    assert_eq!(
        browser().get(&other).send().await.unwrap().status(),
        410,
        "using one spends the others"
    );
    // Unknown and absurd tokens get the same answer.
    assert_eq!(
        browser()
            .get(sso.url("/reset/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
    let long = "x".repeat(500);
    assert_eq!(
        browser()
            .get(sso.url(&format!("/reset/{long}")))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
    // Suspended members cannot use a reset link.
    let link = reset_link(&sso, "eva@example.org").await;
    sqlx::query("update member set status = 'suspended' where email = 'eva@example.org'")
        .execute(sso.state.db())
        .await
        .unwrap();
    assert_eq!(browser().get(&link).send().await.unwrap().status(), 410);
}

#[tokio::test]
async fn a_reset_for_a_role_with_a_second_factor_does_not_sign_in() {
    let sso = spawn().await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let link = reset_link(&sso, "kim@example.org").await;
    let b = browser();
    let r = choose_password(&sso, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Sign in with the new password."));
    assert!(location(&b.get(sso.url("/account")).send().await.unwrap()).starts_with("/login"));
    let r = sign_in(&sso, &b, "kim@example.org", NEW_PASSWORD, "/account").await;
    assert_eq!(
        location(&r),
        "/login/totp",
        "the second factor is still asked for"
    );
}

#[tokio::test]
async fn an_invited_admin_enrols_the_second_factor_before_the_first_session() {
    let sso = spawn().await;
    let (_, link) = invite_directly(&sso, "first@example.org", &[Role::Member, Role::Admin]).await;
    let b = browser();
    let r = choose_password(&sso, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login/totp");
    // Not signed in until the code is confirmed.
    let r = b.get(sso.url("/account")).send().await.unwrap();
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    let page = b
        .get(sso.url("/login/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("totp-secret"), "the enrolment key is shown");
}

#[cfg(feature = "interop")]
#[tokio::test]
async fn external_the_admins_are_told_by_mail_when_a_member_appoints_a_bookkeeper() {
    let mail = MailCatcher::start(false);
    let sso = spawn_with(|c| mail.configure(c)).await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    sso.member("Mia Ek", "mia@example.org", &[Role::Member])
        .await;
    sso.member("Bo Berg", "bo@example.org", &[Role::Member])
        .await;
    let b = browser();
    sign_in_fully(&sso, &b, "mia@example.org").await;
    let r = post_form(
        &sso,
        &b,
        "/members/appoint-bookkeeper",
        &[("member_number", "00003")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let m = mail.message(1).await;
    assert_eq!(m["envelope_to"], "kim@example.org");
    let text = m["text"].as_str().unwrap();
    assert!(
        text.contains("Mia Ek has appointed Bo Berg (00003) as bookkeeper"),
        "{text}"
    );
    assert!(text.contains("/admin/members"), "{text}");
    // Nobody behind a number: no mail at all.
    let r = post_form(
        &sso,
        &b,
        "/members/appoint-bookkeeper",
        &[("member_number", "00099")],
    )
    .await;
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mail.count(), 1);
}
