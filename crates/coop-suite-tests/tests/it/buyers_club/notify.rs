//! Notifications end to end, with a real SMTP server (aiosmtpd) and a real Synapse
//! (matrix-synapse from PyPI): the bot is registered the way the NixOS module does it
//! (`matrix-setup`, Synapse's shared-secret registration) and makes the co-op's room; an order
//! goes from open to completed; the room has the order's news, a member gets what they chose
//! by email and as direct messages, and nothing they did not choose. While the homeserver is
//! unreachable the order goes on; the messages follow once it is back, each once.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use coop_buyers_club::matrix::{self, Client};
use coop_buyers_club::notify::{self, MatrixOut, Sender};
use coop_buyers_club::store;
use coop_web::config::{ExposeSecret as _, Mail, Secret, SmtpSecurity};
use coop_web::{Lang, Translations};
use rust_decimal_macros::dec;
use serde_json::Value;

use super::common::{club, now, vat_percent};

use coop_testkit::synapse::room_texts as texts;

/// The rooms `token`'s account is invited to.
async fn invites(base: &str, token: &str) -> Vec<String> {
    let v: Value = reqwest::Client::new()
        .get(format!("{base}/_matrix/client/v3/sync?timeout=0"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["rooms"]["invite"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn external_notices_reach_a_real_smtp_server_and_a_real_synapse() {
    let smtp = coop_testkit::smtp::SmtpCapture::start(false);
    let synapse = coop_testkit::synapse::Synapse::start();
    let hs = synapse.url();
    let secret = Secret::from(synapse.shared_secret.clone());
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("bot-token");

    // The bot, as the NixOS module sets it up: registered, its room made; run again, the token
    // that works is kept and the same room joined.
    let room = matrix::setup(
        &hs,
        "localhost",
        &secret,
        "cooperage",
        &token_file,
        "orders",
        "Testköpinge",
    )
    .await
    .unwrap();
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let again = matrix::setup(
        &hs,
        "localhost",
        &secret,
        "cooperage",
        &token_file,
        "orders",
        "Testköpinge",
    )
    .await
    .unwrap();
    assert_eq!(again, room);
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), token);
    // A wrong shared secret registers nothing.
    let wrong = dir.path().join("other-token");
    assert!(matrix::setup(
        &hs,
        "localhost",
        &Secret::from("not-the-secret".to_owned()),
        "intruder",
        &wrong,
        "orders",
        "x"
    )
    .await
    .is_err());
    assert!(!wrong.exists());

    // Bo has a Matrix account on the co-op's homeserver (he signed in there through coop-sso;
    // here he is registered directly) and has joined the room.
    let (bo_mxid, bo_token) = Client::new(&hs, None)
        .unwrap()
        .register(&secret, "bo")
        .await
        .unwrap();
    assert_eq!(bo_mxid, "@bo:localhost");
    let bo_matrix = Client::new(&hs, Some(bo_token.clone())).unwrap();
    bo_matrix.join("#orders:localhost").await.unwrap();

    let c = club().await;
    let (alice, bo, cecilia) = (
        c.member(dec!(1000)).await,
        c.member(dec!(1000)).await,
        c.member(dec!(1000)).await,
    );
    for (m, n, name) in [
        (alice, "1", "Alice"),
        (bo, "2", "Bo"),
        (cecilia, "3", "Cecilia"),
    ] {
        sqlx::query("insert into member (member_id, member_number, name, status) values ($1, $2, $3, 'active')")
            .bind(m)
            .bind(n)
            .bind(name)
            .execute(&c.db)
            .await
            .unwrap();
    }
    // Bo signed in here (so his address and user name are known) and chose: new orders and
    // completions by email, closings on Matrix, changes of his purchases both ways.
    notify::remember_contact(&c.db, bo, Some("bo@example.org"), Some("bo"), Lang::Sv)
        .await
        .unwrap();
    notify::set_choices(
        &c.db,
        bo,
        &[
            "opened:email",
            "completed:email",
            "closed:matrix",
            "changed:email",
            "changed:matrix",
        ]
        .map(String::from),
        Lang::Sv,
    )
    .await
    .unwrap();
    // A choice that is not one is refused.
    assert!(
        notify::set_choices(&c.db, bo, &["paid:fax".to_owned()], Lang::Sv)
            .await
            .is_err()
    );
    // Cecilia signed in with the defaults; Alice never signed in here (nothing reaches her).
    notify::remember_contact(&c.db, cecilia, Some("cecilia@example.org"), None, Lang::En)
        .await
        .unwrap();
    assert_eq!(
        notify::choices(&c.db, cecilia).await.unwrap(),
        notify::default_choices()
    );
    let table_default: Vec<String> =
        sqlx::query_scalar("select choices from member_contact where member_id = $1")
            .bind(cecilia)
            .fetch_one(&c.db)
            .await
            .unwrap();
    assert_eq!(table_default, notify::default_choices());

    let mail = Mail {
        from: "Testköpinge <noreply@coop.example.org>".into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: smtp.port,
        smtp_security: SmtpSecurity::None,
        smtp_username: None,
        smtp_password_file: None,
    };
    let sender = |matrix_url: &str| Sender {
        db: c.db.clone(),
        mailer: coop_web::mail::Mailer::from_config(Some(&mail)).unwrap(),
        matrix: Some(MatrixOut {
            client: Client::new(matrix_url, Some(Secret::from(token.clone()))).unwrap(),
            token_file: None,
            room: "#orders:localhost".into(),
            server_name: "localhost".into(),
        }),
        texts: Arc::new(Translations::new(coop_buyers_club::TRANSLATIONS, Lang::En).unwrap()),
        default_lang: Lang::En,
        time_zone: chrono_tz::Europe::Stockholm,
        currency: coop_domain::Currency::parse("SEK").unwrap(),
        base_url: "https://coop.example.org/club".into(),
        org_name: "Testköpinge".into(),
        give_up_after: StdDuration::from_secs(24 * 3600),
    };
    let up = sender(&hs);

    // The order's week.
    let (supplier, [oats, honey, soap]) = c.supplier(alice).await;
    let order = c.order(alice, supplier, &[oats, honey, soap]).await;
    c.buy(bo, order, oats, dec!(6), dec!(0)).await.unwrap();
    c.buy(bo, order, soap, dec!(1), dec!(0)).await.unwrap();
    c.buy(cecilia, order, soap, dec!(2), dec!(0)).await.unwrap();
    let sent = up.run_once(now()).await.unwrap();
    assert_eq!(
        (sent.sent, sent.given_up),
        (2, 0),
        "{sent:?}: the room and Bo's email"
    );
    // The supplier has no soap: Alice takes it out (Bo and Cecilia are told, as they chose).
    store::remove_product(&c.db, &c.wallet, alice, order, soap, 2)
        .await
        .unwrap();
    // Reminded a day before the end.
    assert_eq!(
        store::remind_closing(
            &c.db,
            now() + Duration::days(6) + Duration::hours(1),
            Duration::hours(24)
        )
        .await
        .unwrap(),
        vec![order]
    );
    assert!(
        store::remind_closing(
            &c.db,
            now() + Duration::days(6) + Duration::hours(2),
            Duration::hours(24)
        )
        .await
        .unwrap()
        .is_empty(),
        "once"
    );

    // The homeserver is unreachable now: the order goes on regardless.
    let down = sender("http://127.0.0.1:9");
    store::close(&c.db, alice, order, now(), 2).await.unwrap();
    let d = down.run_once(now()).await.unwrap();
    assert!(d.retrying >= 2, "{d:?}: the room's messages wait");
    let change = store::request_change(
        &c.db,
        alice,
        order,
        oats,
        bo,
        dec!(5),
        "one packet was torn",
        now(),
    )
    .await
    .unwrap();
    store::answer_change(&c.db, &c.wallet, bo, change, true, "", now(), 2)
        .await
        .unwrap();
    store::complete(
        &c.db,
        &c.wallet,
        alice,
        order,
        now(),
        now().date_naive(),
        2,
        &vat_percent,
    )
    .await
    .unwrap();
    // Back up: an hour later every waiting message is sent, once.
    let later = now() + Duration::hours(1);
    let s = up.run_once(later).await.unwrap();
    assert_eq!(s.given_up, 0, "{s:?}");
    assert_eq!(up.run_once(later).await.unwrap(), notify::Sent::default());

    // The room: opened, closing soon, closed, completed; in the co-op's language; nothing about
    // one member's purchases.
    let room_texts: Vec<String> = texts(&hs, bo_token.expose_secret(), &room)
        .await
        .into_iter()
        .filter(|(s, _)| s == "@cooperage:localhost")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(room_texts.len(), 4, "{room_texts:#?}");
    assert!(
        room_texts[0].starts_with("Veckans beställning from Gården")
            && room_texts[0].contains("is open for purchases until"),
        "{}",
        room_texts[0]
    );
    assert!(room_texts[0].contains(&format!("https://coop.example.org/club/orders/{order}")));
    assert!(room_texts[1].contains("takes its last purchases at"));
    assert!(room_texts[2].contains("is closed"));
    assert!(room_texts[3].contains("is completed"));
    assert!(room_texts
        .iter()
        .all(|t| !t.contains("torn") && !t.contains('\u{2068}')));

    // Bo's direct room: the bot invited him; in it, in Swedish, his closing and the change.
    let invited = invites(&hs, bo_token.expose_secret()).await;
    assert_eq!(invited.len(), 1, "one direct room, made once");
    bo_matrix.join(&invited[0]).await.unwrap();
    let dm: Vec<String> = texts(&hs, bo_token.expose_secret(), &invited[0])
        .await
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(dm.len(), 2, "{dm:#?}");
    assert!(dm[0].contains("är stängd"), "{}", dm[0]);
    assert!(
        dm[1].contains("Havregryn 1 kg")
            && dm[1].contains("från 6 till 5 st")
            && dm[1].contains("one packet was torn"),
        "{}",
        dm[1]
    );

    // Email: Bo's opened, removed (a default he kept? no: he chose his own), changed,
    // completed; Cecilia's removed (a default) and nothing else she did not choose.
    let mut mails = Vec::new();
    for n in 1..=smtp.count() {
        mails.push(smtp.message(n).await);
    }
    let to = |m: &Value| m["to"][0][1].as_str().unwrap().to_owned();
    let subjects = |who: &str| -> Vec<String> {
        mails
            .iter()
            .filter(|m| to(m) == who)
            .map(|m| m["subject"].as_str().unwrap().to_owned())
            .collect()
    };
    let bo_mail = subjects("bo@example.org");
    assert_eq!(bo_mail.len(), 3, "{bo_mail:#?}");
    assert_eq!(bo_mail[0], "Öppen för köp: Veckans beställning");
    assert!(bo_mail[1].starts_with("Kontrollera en ändring av ditt köp"));
    assert_eq!(bo_mail[2], "Slutförd: Veckans beställning");
    let completed = mails
        .iter()
        .find(|m| m["subject"] == "Slutförd: Veckans beställning")
        .unwrap();
    // Five packets at 24,90.
    assert!(
        completed["text"].as_str().unwrap().contains("124,50"),
        "{}",
        completed["text"]
    );
    assert_eq!(
        subjects("cecilia@example.org"),
        vec!["Taken out of Veckans beställning: Tvål".to_owned()]
    );
    assert_eq!(mails.len(), 4);
}
