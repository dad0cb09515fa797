//! The member-directory administration over HTTP: who may use which page, what every change
//! writes (audit log, member feed), and the refusals that keep an admin from locking out.

use crate::common::*;
use coop_sso::domain::Role;
use coop_testkit::http::hidden_input;
use uuid::Uuid;

/// Page text with the entities Tera writes into attributes decoded, for plain assertions.
fn unescape(html: &str) -> String {
    html.replace("&#x2F;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

async fn number_of(sso: &Sso, id: Uuid) -> String {
    let n: i32 = sqlx::query_scalar("select member_number from member where member_id = $1")
        .bind(id)
        .fetch_one(sso.state.db())
        .await
        .unwrap();
    format!("{n:05}")
}

async fn roles_of(sso: &Sso, id: Uuid) -> Vec<String> {
    sqlx::query_scalar("select role from member_role where member_id = $1 order by role")
        .bind(id)
        .fetch_all(sso.state.db())
        .await
        .unwrap()
}

async fn status_of(sso: &Sso, id: Uuid) -> String {
    sqlx::query_scalar("select status from member where member_id = $1")
        .bind(id)
        .fetch_one(sso.state.db())
        .await
        .unwrap()
}

async fn changes(sso: &Sso) -> (i64, i64, i64) {
    (
        count(sso, "select count(*) from audit_event").await,
        count(sso, "select count(*) from feed_event").await,
        count(sso, "select count(*) from member").await,
    )
}

/// The latest audit row about `subject`: (actor, action, detail).
async fn last_audit(sso: &Sso, subject: Uuid) -> (Option<Uuid>, String, serde_json::Value) {
    sqlx::query_as(
        "select actor_id, action, detail from audit_event where subject_id = $1
         order by audit_event_id desc limit 1",
    )
    .bind(subject)
    .fetch_one(sso.state.db())
    .await
    .unwrap()
}

/// The latest feed event: (type, payload).
async fn last_event(sso: &Sso) -> (String, serde_json::Value) {
    sqlx::query_as("select kind, payload from feed_event order by feed_event_id desc limit 1")
        .fetch_one(sso.state.db())
        .await
        .unwrap()
}

/// A form post of the matrix: path, fields, and what an admin gets.
type Post = (String, Vec<(&'static str, &'static str)>, u16);

const ROLES: [(&str, Role); 5] = [
    ("member", Role::Member),
    ("cashier", Role::Cashier),
    ("manager", Role::Manager),
    ("bookkeeper", Role::Bookkeeper),
    ("admin", Role::Admin),
];

/// One browser per role, signed in (second factor included where the role needs one).
async fn browsers(sso: &Sso) -> Vec<(&'static str, Uuid, reqwest::Client)> {
    let mut out = Vec::new();
    for (name, role) in ROLES {
        let email = format!("{name}@example.org");
        let roles = if role == Role::Member {
            vec![Role::Member]
        } else {
            vec![Role::Member, role]
        };
        let id = sso.member(&format!("The {name}"), &email, &roles).await;
        let b = browser();
        sign_in_fully(sso, &b, &email).await;
        out.push((name, id, b));
    }
    out
}

#[tokio::test]
async fn only_admins_reach_the_admin_pages_and_actions() {
    let sso = spawn().await;
    let people = browsers(&sso).await;
    let target = sso
        .member("Tove Target", "tove@example.org", &[Role::Member])
        .await;
    let other = sso
        .member("Otto Other", "otto@example.org", &[Role::Member])
        .await;
    let other_number = number_of(&sso, other).await;
    let invited = {
        let format = &sso.state.kit.coop.member_number;
        let invitee = coop_sso::directory::Invitee {
            name: "Ines Invited".into(),
            email: coop_domain::EmailAddress::parse("ines@example.org").unwrap(),
            lang: coop_web::Lang::En,
            roles: vec![Role::Member],
        };
        coop_sso::directory::invite(sso.state.db(), format, invitee, None, sso.clock.now())
            .await
            .unwrap()
            .0
            .member_id
    };

    let gets = [
        "/admin".to_owned(),
        "/admin/members".to_owned(),
        "/admin/members?q=tove&page=1".to_owned(),
        "/admin/members/invite".to_owned(),
        format!("/admin/members/{target}"),
        "/admin/audit".to_owned(),
    ];
    let posts: Vec<Post> = vec![
        (
            "/admin/members/invite".into(),
            vec![
                ("email", "new@example.org"),
                ("name", "New Member"),
                ("lang", "en"),
                ("role", "member"),
            ],
            200,
        ),
        (
            format!("/admin/members/{target}/roles"),
            vec![("role", "member"), ("role", "cashier")],
            303,
        ),
        (
            format!("/admin/members/{target}/household"),
            vec![("household_id", ""), ("new_household", "Target")],
            303,
        ),
        (format!("/admin/members/{invited}/invite"), vec![], 200),
        (
            format!("/admin/members/{target}/status"),
            vec![("action", "suspend")],
            303,
        ),
    ];

    // Nobody signed in: to the sign-in page, coming back here afterwards.
    let anon = browser();
    for path in &gets {
        let r = anon.get(sso.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 303, "anonymous GET {path}");
        assert_eq!(
            location(&r),
            format!("/login?return_to={}", urlencode(path)),
            "{path}"
        );
    }
    let before = changes(&sso).await;
    for (path, fields, _) in &posts {
        let r = post_form(&sso, &anon, path, fields).await;
        assert_eq!(r.status(), 303, "anonymous POST {path}");
        assert!(location(&r).starts_with("/login?return_to="), "{path}");
    }

    // Signed in without the admin role: 403, and nothing changes.
    for (name, _, b) in people.iter().filter(|(n, _, _)| *n != "admin") {
        for path in &gets {
            let r = b.get(sso.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 403, "{name} GET {path}");
        }
        for (path, fields, _) in &posts {
            let r = post_form(&sso, b, path, fields).await;
            assert_eq!(r.status(), 403, "{name} POST {path}");
        }
    }
    assert_eq!(
        changes(&sso).await,
        before,
        "refused requests change nothing"
    );
    assert_eq!(roles_of(&sso, target).await, ["member"]);

    // The admin: every page and every action.
    let (_, admin_id, admin) = people.iter().find(|(n, _, _)| *n == "admin").unwrap();
    for path in &gets {
        let r = admin.get(sso.url(path)).send().await.unwrap();
        if path == "/admin" {
            assert_eq!(r.status(), 303);
            assert_eq!(location(&r), "/admin/members");
        } else {
            assert_eq!(r.status(), 200, "admin GET {path}");
        }
    }
    for (path, fields, expected) in &posts {
        let r = post_form(&sso, admin, path, fields).await;
        assert_eq!(r.status(), *expected, "admin POST {path}");
    }
    assert_eq!(roles_of(&sso, target).await, ["cashier", "member"]);
    assert_eq!(status_of(&sso, target).await, "suspended");
    let (actor, action, _) = last_audit(&sso, target).await;
    assert_eq!(
        (actor, action.as_str()),
        (Some(*admin_id), "member.suspended")
    );

    // The appointment page follows the default setting: every member may appoint.
    for (name, _, b) in &people {
        let r = b
            .get(sso.url("/members/appoint-bookkeeper"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name} GET the appointment page");
    }
    let r = anon
        .get(sso.url("/members/appoint-bookkeeper"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&r),
        format!(
            "/login?return_to={}",
            urlencode("/members/appoint-bookkeeper")
        )
    );
    let r = post_form(
        &sso,
        &anon,
        "/members/appoint-bookkeeper",
        &[("member_number", other_number.as_str())],
    )
    .await;
    assert!(location(&r).starts_with("/login?return_to="));
    let (_, member_id, member_browser) = &people[0];
    let r = post_form(
        &sso,
        member_browser,
        "/members/appoint-bookkeeper",
        &[("member_number", other_number.as_str())],
    )
    .await;
    assert_eq!(r.status(), 200);
    // Appointed, not yet a bookkeeper: the member accepts first.
    assert_eq!(roles_of(&sso, other).await, ["member"]);
    assert_eq!(
        count(
            &sso,
            "select count(*) from bookkeeper_appointment where decided_at is null"
        )
        .await,
        1
    );
    let (actor, action, _) = last_audit(&sso, other).await;
    assert_eq!(
        (actor, action.as_str()),
        (Some(*member_id), "member.bookkeeper_appointed")
    );
}

#[tokio::test]
async fn when_the_config_says_so_only_admins_appoint_bookkeepers() {
    let sso =
        spawn_with(|c| c["services"]["sso"]["bookkeeper_appointment"] = "admins".into()).await;
    let people = browsers(&sso).await;
    let target = sso
        .member("Tove Target", "tove@example.org", &[Role::Member])
        .await;
    let number = number_of(&sso, target).await;
    let before = changes(&sso).await;
    for (name, _, b) in people.iter().filter(|(n, _, _)| *n != "admin") {
        let r = b
            .get(sso.url("/members/appoint-bookkeeper"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{name} GET");
        let r = post_form(
            &sso,
            b,
            "/members/appoint-bookkeeper",
            &[("member_number", number.as_str())],
        )
        .await;
        assert_eq!(r.status(), 403, "{name} POST");
    }
    assert_eq!(changes(&sso).await, before);
    let (_, _, admin) = people.iter().find(|(n, _, _)| *n == "admin").unwrap();
    let page = admin
        .get(sso.url("/members/appoint-bookkeeper"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .map(|t| unescape(&t))
        .unwrap()
        .contains("only administrators"));
    let r = post_form(
        &sso,
        admin,
        "/members/appoint-bookkeeper",
        &[("member_number", number.as_str())],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        roles_of(&sso, target).await,
        ["member"],
        "asked, not yet accepted"
    );
    assert!(
        coop_sso::directory::open_appointment(sso.state.db(), target)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn appointments_are_checked_and_make_the_new_bookkeeper_sign_in_again() {
    let sso = spawn().await;
    let me = sso
        .member("Mia Ek", "mia@example.org", &[Role::Member])
        .await;
    let target = sso
        .member("Bo Berg", "bo@example.org", &[Role::Member])
        .await;
    let b = browser();
    sign_in_fully(&sso, &b, "mia@example.org").await;
    let bo = browser();
    sign_in_fully(&sso, &bo, "bo@example.org").await;

    for (input, message) in [
        ("", "Enter a member number, for example 00042."),
        ("abc", "Enter a member number, for example 00042."),
        (
            number_of(&sso, me).await.as_str(),
            "You cannot appoint yourself.",
        ),
    ] {
        let before = changes(&sso).await;
        let r = post_form(
            &sso,
            &b,
            "/members/appoint-bookkeeper",
            &[("member_number", input)],
        )
        .await;
        assert_eq!(r.status(), 422, "{input:?}");
        let page = r.text().await.map(|t| unescape(&t)).unwrap();
        assert!(
            page.contains("role=\"alert\""),
            "error summary for {input:?}"
        );
        assert!(page.contains(message), "{input:?}: {page}");
        assert!(page.contains("aria-invalid=\"true\""));
        assert_eq!(changes(&sso).await, before);
    }
    // The answer does not tell whether a member number exists: the same for nobody as for Bo.
    let answer = |number: &str| {
        let number = number.to_owned();
        let b = b.clone();
        let sso = &sso;
        async move {
            let r = post_form(
                sso,
                &b,
                "/members/appoint-bookkeeper",
                &[("member_number", &number)],
            )
            .await;
            assert_eq!(r.status(), 200);
            let page = r.text().await.map(|t| unescape(&t)).unwrap();
            let main = page
                .split("<main")
                .nth(1)
                .unwrap()
                .split("</main>")
                .next()
                .unwrap();
            main.replace(&number, "NUMBER")
        }
    };
    let before = changes(&sso).await;
    let nobody = answer("99999").await;
    assert_eq!(changes(&sso).await, before, "nothing written for nobody");
    let digits = number_of(&sso, target)
        .await
        .trim_start_matches('0')
        .to_owned();
    let bo_answer = answer(&format!("{digits:0>5}")).await;
    assert_eq!(nobody, bo_answer);
    assert!(nobody.contains("have been asked to accept"));
    // Bo is asked, still a member only, still signed in.
    assert_eq!(roles_of(&sso, target).await, ["member"]);
    let page = bo
        .get(sso.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        unescape(&page).contains("Mia Ek appointed you as bookkeeper"),
        "{page}"
    );
    // Bo accepts: a bookkeeper now, and signed out (the role needs a second factor).
    let r = post_form(&sso, &bo, "/account/bookkeeper", &[("decision", "accept")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(roles_of(&sso, target).await, ["bookkeeper", "member"]);
    assert!(location(&bo.get(sso.url("/account")).send().await.unwrap()).starts_with("/login"));
    let (kind, payload) = last_event(&sso).await;
    assert_eq!(kind, "member.changed");
    assert_eq!(
        payload["roles"],
        serde_json::json!(["member", "bookkeeper"])
    );
    assert_eq!(payload["sub"], target.to_string());
    let (actor, action, _) = last_audit(&sso, target).await;
    assert_eq!(
        (actor, action.as_str()),
        (Some(target), "member.bookkeeper_accepted")
    );
    let granted_by: Option<uuid::Uuid> = sqlx::query_scalar(
        "select granted_by from member_role where member_id = $1 and role = 'bookkeeper'",
    )
    .bind(target)
    .fetch_one(sso.state.db())
    .await
    .unwrap();
    assert_eq!(granted_by, Some(me), "the appointer is recorded");
    // Appointing an existing bookkeeper again changes nothing and says the same.
    let before = changes(&sso).await;
    assert_eq!(answer(&format!("{digits:0>5}")).await, nobody);
    assert_eq!(changes(&sso).await, before);
}

#[tokio::test]
async fn appointments_can_be_declined_or_withdrawn_and_admins_reset_second_factors() {
    let sso = spawn().await;
    let admin = sso
        .member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let mia = sso
        .member("Mia Ek", "mia@example.org", &[Role::Member])
        .await;
    let bo = sso
        .member("Bo Berg", "bo@example.org", &[Role::Member])
        .await;
    let kim = browser();
    sign_in_fully(&sso, &kim, "kim@example.org").await;
    let bo_b = browser();
    sign_in_fully(&sso, &bo_b, "bo@example.org").await;
    // (The appointment page is tested above; here the directory's call is enough.)
    let number = |m: uuid::Uuid| {
        let sso = &sso;
        async move {
            sqlx::query_scalar::<_, i32>("select member_number from member where member_id = $1")
                .bind(m)
                .fetch_one(sso.state.db())
                .await
                .unwrap()
        }
    };
    // Declined by the appointee.
    coop_sso::directory::appoint_bookkeeper(sso.state.db(), mia, number(bo).await, sso.clock.now())
        .await
        .unwrap();
    let r = post_form(
        &sso,
        &bo_b,
        "/account/bookkeeper",
        &[("decision", "decline")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(roles_of(&sso, bo).await, ["member"]);
    assert!(coop_sso::directory::open_appointment(sso.state.db(), bo)
        .await
        .unwrap()
        .is_none());
    // Nothing left to accept.
    let r = post_form(
        &sso,
        &bo_b,
        "/account/bookkeeper",
        &[("decision", "accept")],
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(roles_of(&sso, bo).await, ["member"]);
    let r = post_form(&sso, &bo_b, "/account/bookkeeper", &[("decision", "maybe")]).await;
    assert_eq!(r.status(), 400);

    // Withdrawn by an admin (only an admin: Bo cannot withdraw his own at the admin route).
    coop_sso::directory::appoint_bookkeeper(sso.state.db(), mia, number(bo).await, sso.clock.now())
        .await
        .unwrap();
    let page = kim
        .get(sso.url(&format!("/admin/members/{bo}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(unescape(&page).contains("Appointed by Mia Ek"), "{page}");
    let path = format!("/admin/members/{bo}/appointment/withdraw");
    let r = post_form(&sso, &bo_b, &path, &[]).await;
    assert_eq!(r.status(), 403);
    let r = post_form(&sso, &kim, &path, &[]).await;
    assert_eq!(r.status(), 303);
    assert!(coop_sso::directory::open_appointment(sso.state.db(), bo)
        .await
        .unwrap()
        .is_none());
    let (actor, action, _) = last_audit(&sso, bo).await;
    assert_eq!(
        (actor, action.as_str()),
        (Some(admin), "member.bookkeeper_withdrawn")
    );

    // An admin resets a bookkeeper's second factor: signed out, enrols anew at the next sign-in.
    sqlx::query(
        "insert into member_role (member_id, role, granted_at) values ($1, 'bookkeeper', now())",
    )
    .bind(mia)
    .execute(sso.state.db())
    .await
    .unwrap();
    let mia_b = browser();
    sign_in_fully(&sso, &mia_b, "mia@example.org").await;
    let path = format!("/admin/members/{mia}/totp/reset");
    let r = post_form(&sso, &mia_b, &path, &[]).await;
    assert_eq!(r.status(), 403, "not by the member herself");
    let r = post_form(&sso, &kim, &path, &[]).await;
    assert_eq!(r.status(), 303);
    let enrolled: bool =
        sqlx::query_scalar("select totp_secret is not null from member where member_id = $1")
            .bind(mia)
            .fetch_one(sso.state.db())
            .await
            .unwrap();
    assert!(!enrolled);
    assert!(location(&mia_b.get(sso.url("/account")).send().await.unwrap()).starts_with("/login"));
    let (actor, action, _) = last_audit(&sso, mia).await;
    assert_eq!((actor, action.as_str()), (Some(admin), "member.totp_reset"));
    let r = sign_in(&sso, &browser(), "mia@example.org", PASSWORD, "/account").await;
    assert_eq!(
        location(&r),
        "/login/totp",
        "she sets up a new second factor"
    );
}

#[tokio::test]
async fn an_admin_cannot_lock_themselves_out() {
    let sso = spawn().await;
    let admin_id = sso
        .member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let b = browser();
    sign_in_fully(&sso, &b, "kim@example.org").await;
    let before = changes(&sso).await;

    let r = post_form(
        &sso,
        &b,
        &format!("/admin/members/{admin_id}/roles"),
        &[("role", "member")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.map(|t| unescape(&t)).unwrap();
    assert!(page.contains("role=\"alert\"") && page.contains("href=\"#roles\""));
    assert!(page.contains("You cannot take away your own administrator role."));
    for action in ["suspend", "leave"] {
        let r = post_form(
            &sso,
            &b,
            &format!("/admin/members/{admin_id}/status"),
            &[("action", action)],
        )
        .await;
        assert_eq!(r.status(), 422, "{action}");
        assert!(r
            .text()
            .await
            .map(|t| unescape(&t))
            .unwrap()
            .contains("You cannot suspend yourself"));
    }
    assert_eq!(changes(&sso).await, before);
    assert_eq!(roles_of(&sso, admin_id).await, ["admin", "member"]);
    assert_eq!(status_of(&sso, admin_id).await, "active");
    // Their own page offers no such buttons in the first place.
    let page = b
        .get(sso.url(&format!("/admin/members/{admin_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("value=\"suspend\""));
    assert!(page.contains("This is you."));
    // Keeping admin while adding another role is fine.
    let r = post_form(
        &sso,
        &b,
        &format!("/admin/members/{admin_id}/roles"),
        &[("role", "member"), ("role", "admin"), ("role", "manager")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        roles_of(&sso, admin_id).await,
        ["admin", "manager", "member"]
    );
    assert_eq!(
        b.get(sso.url("/account")).send().await.unwrap().status(),
        200,
        "still signed in"
    );
}

#[tokio::test]
async fn suspending_a_member_revokes_their_sessions_and_tokens() {
    let sso = spawn().await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let eva = sso
        .member("Eva Lind", "eva@example.org", &[Role::Member])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;
    let eva_browser = browser();
    let p = pkce();
    let code = query_param(
        &get_code(&sso, &eva_browser, "eva@example.org", &p).await,
        "code",
    )
    .unwrap();
    let t: serde_json::Value = exchange(&sso, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        userinfo(&sso, t["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{eva}/status"),
        &[("action", "suspend")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/admin/members/{eva}"));
    let page = admin
        .get(sso.url(&location(&r)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| unescape(&t))
        .unwrap();
    assert!(page.contains("The change has been saved."));
    assert!(page.contains("Suspended"));

    let r = refresh(&sso, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        userinfo(&sso, t["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    assert!(
        location(&eva_browser.get(sso.url("/account")).send().await.unwrap()).starts_with("/login")
    );
    assert_eq!(
        count(&sso, "select count(*) from web_session where revoked_at is null and member_id in (select member_id from member where email = 'eva@example.org')").await,
        0
    );
    let (kind, payload) = last_event(&sso).await;
    assert_eq!(kind, "member.suspended");
    assert_eq!(payload["status"], "suspended");
    let (_, action, detail) = last_audit(&sso, eva).await;
    assert_eq!(action, "member.suspended");
    assert_eq!(
        detail,
        serde_json::json!({ "from": "active", "to": "suspended" })
    );

    // Suspending twice is refused with a message; reactivating lets her sign in again.
    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{eva}/status"),
        &[("action", "suspend")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{eva}/status"),
        &[("action", "reactivate")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(status_of(&sso, eva).await, "active");
    assert_eq!(last_event(&sso).await.0, "member.changed");
    sign_in_fully(&sso, &browser(), "eva@example.org").await;
    // Left: signed out too; a made-up action is refused.
    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{eva}/status"),
        &[("action", "leave")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(status_of(&sso, eva).await, "left");
    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{eva}/status"),
        &[("action", "vanish")],
    )
    .await;
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn role_changes_are_audited_published_and_validated() {
    let sso = spawn().await;
    let admin_id = sso
        .member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let cia = sso
        .member("Cia Ek", "cia@example.org", &[Role::Member])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;
    let cia_browser = browser();
    sign_in_fully(&sso, &cia_browser, "cia@example.org").await;

    let path = format!("/admin/members/{cia}/roles");
    let before = changes(&sso).await;
    let r = post_form(&sso, &admin, &path, &[("role", "member"), ("role", "root")]).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .map(|t| unescape(&t))
        .unwrap()
        .contains("Choose roles from the list only."));
    assert_eq!(changes(&sso).await, before);

    let r = post_form(
        &sso,
        &admin,
        &path,
        &[("role", "member"), ("role", "cashier")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(roles_of(&sso, cia).await, ["cashier", "member"]);
    let (actor, action, detail) = last_audit(&sso, cia).await;
    assert_eq!(
        (actor, action.as_str()),
        (Some(admin_id), "member.roles_changed")
    );
    assert_eq!(
        detail,
        serde_json::json!({ "added": ["cashier"], "removed": [] })
    );
    let (kind, payload) = last_event(&sso).await;
    assert_eq!(kind, "member.changed");
    assert_eq!(payload["roles"], serde_json::json!(["member", "cashier"]));
    assert_eq!(payload["member_number"], "00002");
    assert_eq!(payload["name"], "Cia Ek");
    // A cashier needs no second factor: her session lives on.
    assert_eq!(
        cia_browser
            .get(sso.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Saving the same roles again writes nothing.
    let before = changes(&sso).await;
    let r = post_form(
        &sso,
        &admin,
        &path,
        &[("role", "member"), ("role", "cashier")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(changes(&sso).await, before);

    // Admin is a role that needs a second factor: her password-only session ends.
    let r = post_form(
        &sso,
        &admin,
        &path,
        &[("role", "admin"), ("role", "member")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(
        location(&cia_browser.get(sso.url("/account")).send().await.unwrap()).starts_with("/login")
    );
    let (_, _, detail) = last_audit(&sso, cia).await;
    assert_eq!(
        detail,
        serde_json::json!({ "added": ["admin"], "removed": ["cashier"] })
    );
    // The form shows the roles as they are now.
    let page = admin
        .get(sso.url(&format!("/admin/members/{cia}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| unescape(&t))
        .unwrap();
    assert!(page.contains("id=\"role-admin\" name=\"role\" value=\"admin\" checked"));
    assert!(!page.contains("id=\"role-cashier\" name=\"role\" value=\"cashier\" checked"));
}

#[tokio::test]
async fn households_are_created_chosen_and_left() {
    let sso = spawn().await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let ann = sso
        .member("Ann Berg", "ann@example.org", &[Role::Member])
        .await;
    let bo = sso
        .member("Bo Berg", "bo@example.org", &[Role::Member])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;

    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{ann}/household"),
        &[("household_id", ""), ("new_household", "  Berg  ")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (hid, name): (Uuid, String) = sqlx::query_as("select h.household_id, h.name from member m join household h using (household_id) where m.member_id = $1")
        .bind(ann)
        .fetch_one(sso.state.db())
        .await
        .unwrap();
    assert_eq!(name, "Berg");
    let (kind, payload) = last_event(&sso).await;
    assert_eq!(
        (kind.as_str(), payload["household"].as_str()),
        ("member.changed", Some(hid.to_string().as_str()))
    );

    // Bo's page offers Berg; choosing it puts both in one household.
    let page = admin
        .get(sso.url(&format!("/admin/members/{bo}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| unescape(&t))
        .unwrap();
    assert!(page.contains(&format!("<option value=\"{hid}\">Berg</option>")));
    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{bo}/household"),
        &[("household_id", &hid.to_string()), ("new_household", "")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        count(
            &sso,
            "select count(distinct household_id) from member where household_id is not null"
        )
        .await,
        1
    );
    let (_, action, detail) = last_audit(&sso, bo).await;
    assert_eq!(action, "member.household_changed");
    assert_eq!(detail["to"], hid.to_string());

    // Bad choices are refused and change nothing.
    let before = changes(&sso).await;
    for fields in [
        vec![("household_id", "not-a-uuid")],
        vec![("household_id", "00000000-0000-0000-0000-000000000000")],
    ] {
        let r = post_form(
            &sso,
            &admin,
            &format!("/admin/members/{bo}/household"),
            &fields,
        )
        .await;
        assert_eq!(r.status(), 422);
        assert!(r
            .text()
            .await
            .map(|t| unescape(&t))
            .unwrap()
            .contains("Choose a household from the list."));
    }
    let long = "x".repeat(201);
    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{bo}/household"),
        &[("new_household", &long)],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(changes(&sso).await, before);

    // No household.
    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{bo}/household"),
        &[("household_id", "")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        last_event(&sso).await.1["household"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn the_member_list_searches_by_name_email_and_number_and_pages() {
    let sso = spawn().await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    for i in 2..=30 {
        sso.member(
            &format!("Person {i:02}"),
            &format!("p{i}@example.org"),
            &[Role::Member],
        )
        .await;
    }
    sso.member("Åsa 100% Öberg", "asa@elsewhere.net", &[Role::Member])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;
    let list = |q: &str| {
        let admin = admin.clone();
        let url = sso.url(&format!("/admin/members?{q}"));
        async move {
            let r = admin.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.map(|t| unescape(&t)).unwrap()
        }
    };
    let rows = |page: &str| {
        page.matches("<a href=\"/admin/members/").count()
            - page.matches("<a href=\"/admin/members/invite\"").count()
    };

    let first = list("").await;
    assert_eq!(rows(&first), 25);
    assert!(first.contains("href=\"/admin/members?page=2\" rel=\"next\""));
    assert!(!first.contains("rel=\"prev\""));
    let second = list("page=2").await;
    assert_eq!(rows(&second), 6);
    assert!(second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""));

    let by_name = list("q=person+0").await;
    assert_eq!(rows(&by_name), 8, "Person 02 to Person 09");
    let by_email = list("q=elsewhere.net").await;
    assert_eq!(rows(&by_email), 1);
    assert!(by_email.contains("Åsa 100% Öberg"));
    // A member number, as printed or as digits.
    for q in ["q=00017", "q=17"] {
        let page = list(q).await;
        assert_eq!(rows(&page), 1, "{q}");
        assert!(page.contains("Person 17"), "{q}");
    }
    // LIKE wildcards are taken literally.
    assert_eq!(rows(&list("q=100%25").await), 1);
    assert_eq!(rows(&list("q=_").await), 0);
    assert!(list("q=nobody").await.contains("No members match."));
    // The search is kept in the paging links.
    let page = list("q=example.org").await;
    assert!(
        page.contains("href=\"/admin/members?q=example.org&page=2\""),
        "{page}"
    );
}

#[tokio::test]
async fn the_audit_log_lists_changes_newest_first_in_pages() {
    let sso = spawn().await;
    let admin_id = sso
        .member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let eva = sso
        .member("Eva Lind", "eva@example.org", &[Role::Member])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;
    let path = format!("/admin/members/{eva}/roles");
    for i in 0..55 {
        let roles: &[(&str, &str)] = if i % 2 == 0 {
            &[("role", "member"), ("role", "cashier")]
        } else {
            &[("role", "member")]
        };
        assert_eq!(post_form(&sso, &admin, &path, roles).await.status(), 303);
    }
    let total = count(&sso, "select count(*) from audit_event").await;
    assert!(total > 50, "{total}");
    let page = admin
        .get(sso.url("/admin/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| unescape(&t))
        .unwrap();
    assert_eq!(
        page.matches("<tr>").count() - 1,
        50,
        "a page holds 50 entries"
    );
    assert!(page.contains("href=\"/admin/audit?page=2\""));
    // Newest first: the last change (cashier removed) leads.
    let first_row = &page[page.find("<tbody>").unwrap()..];
    let first_row = &first_row[..first_row.find("</tr>").unwrap()];
    assert!(first_row.contains("Roles changed"), "{first_row}");
    assert!(first_row.contains("Kim Admin") && first_row.contains("Eva Lind"));
    assert!(first_row.contains(&format!("/admin/members/{admin_id}")));
    assert!(first_row.contains("\"added\":[\"cashier\"]"), "{first_row}");
    let second = admin
        .get(sso.url("/admin/audit?page=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| unescape(&t))
        .unwrap();
    assert!(second.contains("Member created"));
    // In Swedish too.
    let sv = admin
        .get(sso.url("/admin/audit?lang=sv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| unescape(&t))
        .unwrap();
    assert!(sv.contains("Roller ändrade") && sv.contains("Ändringslogg"));
}

#[tokio::test]
async fn bad_posts_are_refused_without_changes() {
    let sso = spawn().await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let eva = sso
        .member("Eva Lind", "eva@example.org", &[Role::Member])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;
    let before = changes(&sso).await;
    // No CSRF token.
    let r = admin
        .post(sso.url(&format!("/admin/members/{eva}/status")))
        .form(&[("action", "suspend")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Not a form.
    let r = admin
        .post(sso.url(&format!("/admin/members/{eva}/status")))
        .json(&serde_json::json!({ "action": "suspend" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Oversize.
    let csrf = csrf_token(&sso, &admin).await;
    let huge = "x".repeat(100 * 1024);
    let r = admin
        .post(sso.url("/admin/members/invite"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "big@example.org"),
            ("name", huge.as_str()),
            ("lang", "en"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Unknown member, malformed id.
    let r = post_form(
        &sso,
        &admin,
        &format!("/admin/members/{}/roles", Uuid::new_v4()),
        &[("role", "member")],
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = admin
        .get(sso.url("/admin/members/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(changes(&sso).await, before);
    assert_eq!(status_of(&sso, eva).await, "active");
}

#[tokio::test]
async fn the_invite_form_validates_and_keeps_what_was_typed() {
    let sso = spawn().await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    sso.member("Eva Lind", "eva@example.org", &[Role::Member])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;
    let before = changes(&sso).await;
    for (fields, field, message) in [
        (
            vec![("email", "not an address"), ("name", "X"), ("lang", "en")],
            "email",
            "Enter an email address",
        ),
        (
            vec![
                ("email", "EVA@Example.org"),
                ("name", "Eva Again"),
                ("lang", "en"),
                ("role", "member"),
            ],
            "email",
            "already exists",
        ),
        (
            vec![("email", "x@example.org"), ("name", "   "), ("lang", "en")],
            "name",
            "Enter a name",
        ),
        (
            vec![("email", "x@example.org"), ("name", "X"), ("lang", "de")],
            "lang",
            "Choose one of the languages",
        ),
        (
            vec![
                ("email", "x@example.org"),
                ("name", "X"),
                ("lang", "en"),
                ("role", "king"),
            ],
            "roles",
            "Choose roles from the list only.",
        ),
    ] {
        let r = post_form(&sso, &admin, "/admin/members/invite", &fields).await;
        assert_eq!(r.status(), 422, "{fields:?}");
        let page = r.text().await.map(|t| unescape(&t)).unwrap();
        assert!(
            page.contains(&format!("href=\"#{field}\"")),
            "{field}: {page}"
        );
        assert!(page.contains(message), "{message}");
        if field == "name" {
            assert!(
                page.contains("value=\"x@example.org\""),
                "the address is kept"
            );
        }
    }
    assert_eq!(changes(&sso).await, before);
    // A good one: the next number, invited, mail not configured so the link is on the page.
    let r = post_form(
        &sso,
        &admin,
        "/admin/members/invite",
        &[
            ("email", "Nils@Example.ORG"),
            ("name", "Nils Holm"),
            ("lang", "sv"),
            ("role", "member"),
            ("role", "cashier"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.map(|t| unescape(&t)).unwrap();
    assert!(
        page.contains("Nils Holm has member number 00003."),
        "{page}"
    );
    assert!(page.contains("no mail server set up"));
    let link = hidden_input(&page, "invite_link").unwrap();
    assert!(
        link.starts_with(&format!("{}/invite/", sso.state.issuer)),
        "{link}"
    );
    let (status, lang, roles): (String, String, Vec<String>) = sqlx::query_as(
        "select status, preferred_lang, array(select role from member_role r where r.member_id = m.member_id order by role) from member m where email = 'nils@example.org'",
    )
    .fetch_one(sso.state.db())
    .await
    .unwrap();
    assert_eq!((status.as_str(), lang.as_str()), ("invited", "sv"));
    assert_eq!(roles, ["cashier", "member"]);
    let (kind, payload) = last_event(&sso).await;
    assert_eq!(
        (kind.as_str(), payload["status"].as_str()),
        ("member.created", Some("invited"))
    );
}

#[test]
fn every_message_exists_in_every_language_and_the_templates_parse() {
    let t = coop_web::Translations::new(coop_sso::TRANSLATIONS, coop_web::Lang::En).unwrap();
    assert_eq!(t.missing(), Vec::<(coop_web::Lang, String)>::new());
    coop_web::templates::Templates::new(coop_sso::TEMPLATES, t).unwrap();
}

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A config file for the binary, pointing at the running test service's database.
fn config_file(sso: &Sso) -> tempfile::NamedTempFile {
    let mut value = coop_testkit::config::coop_config(
        "sso",
        sso.state.kit.service.database_url.expose(),
        &sso.dir.path().join("cli-state"),
        &sso.state.issuer,
    );
    // The command line opens the sealed signing keys with the service's own key.
    value["services"]["sso"]["secrets_key_file"] =
        serde_json::json!(sso.dir.path().join("state/secrets-key"));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), value.to_string()).unwrap();
    file
}

fn run(args: &[&str], config: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_coop-sso"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("COOPERAGE_CONFIG")
        .current_dir(repo())
        .output()
        .expect("running coop-sso")
}

#[tokio::test]
async fn bootstrap_admin_prints_an_invite_link_that_makes_the_first_admin() {
    let sso = spawn().await;
    let config = config_file(&sso);
    let out = run(
        &[
            "bootstrap-admin",
            "--email",
            "First@Example.org",
            "--name",
            "Fia First",
        ],
        config.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let link = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "only the link on stdout");
    assert!(
        link.starts_with(&format!("{}/invite/", sso.state.issuer)),
        "{link}"
    );

    // Run again before it is used: a new link, the old one stops working.
    let out = run(
        &[
            "bootstrap-admin",
            "--email",
            "first@example.org",
            "--name",
            "Fia First",
        ],
        config.path(),
    );
    assert!(out.status.success());
    let link2 = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_ne!(link, link2);
    let b = browser();
    assert_eq!(b.get(link).send().await.unwrap().status(), 410);

    let page = b
        .get(&link2)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| unescape(&t))
        .unwrap();
    let csrf = hidden_input(&page, "csrf_token").unwrap();
    let r = b
        .post(&link2)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("password", PASSWORD),
            ("password_repeat", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let id: Uuid =
        sqlx::query_scalar("select member_id from member where email = 'first@example.org'")
            .fetch_one(sso.state.db())
            .await
            .unwrap();
    assert_eq!(roles_of(&sso, id).await, ["admin", "member"]);
    assert_eq!(status_of(&sso, id).await, "active");
    // The next sign-in asks for the second factor, as for every admin.
    let b2 = browser();
    let r = sign_in(&sso, &b2, "first@example.org", PASSWORD, "/admin/members").await;
    assert_eq!(location(&r), "/login/totp");
    sign_in_fully(&sso, &b2, "first@example.org").await;
    assert_eq!(
        b2.get(sso.url("/admin/members"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Now that an admin is active, bootstrapping is refused.
    let out = run(
        &[
            "bootstrap-admin",
            "--email",
            "second@example.org",
            "--name",
            "Sam Second",
        ],
        config.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("an active admin already exists"), "{err}");
    assert!(out.stdout.is_empty());
    let out = run(
        &[
            "bootstrap-admin",
            "--email",
            "not-an-address",
            "--name",
            "X",
        ],
        config.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--email"));
}

#[tokio::test]
async fn rotate_keys_makes_a_new_key_current_and_keeps_the_old_one_published() {
    let sso = spawn().await;
    let config = config_file(&sso);
    let old: String = sqlx::query_scalar("select kid from signing_key where retired_at is null")
        .fetch_one(sso.state.db())
        .await
        .unwrap();
    let out = run(&["rotate-keys"], config.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kid = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_ne!(kid, old);
    let current: String =
        sqlx::query_scalar("select kid from signing_key where retired_at is null")
            .fetch_one(sso.state.db())
            .await
            .unwrap();
    assert_eq!(current, kid);
    let kept: bool =
        sqlx::query_scalar("select publish_until is not null from signing_key where kid = $1")
            .bind(&old)
            .fetch_one(sso.state.db())
            .await
            .unwrap();
    assert!(kept, "the old key stays published");
}
