//! Product requests through the app: a member asks, others vote once each, a manager declines
//! with a reason that reaches the member by real SMTP (in the language they asked in), and the
//! refusals (no title, no reason, too many open, a second answer) change nothing.

use coop_ims::request::{self, RequestError, Requester};
use uuid::Uuid;

use crate::catalogue::database;

fn who(member: Uuid) -> Requester<'static> {
    Requester {
        member,
        name: "Alva",
        email: Some("alva@example.org"),
        lang: "sv",
    }
}

#[tokio::test]
async fn members_ask_and_vote_once_and_a_manager_answers_once() {
    let pool = database().await;
    let alva = Uuid::new_v4();
    let bo = Uuid::new_v4();
    let id = request::create(&pool, &who(alva), "Havremjölk barista", "1 l")
        .await
        .unwrap();
    assert!(
        !request::vote(&pool, id, alva).await.unwrap(),
        "the asker's vote is counted already"
    );
    assert!(request::vote(&pool, id, bo).await.unwrap());
    assert!(!request::vote(&pool, id, bo).await.unwrap(), "once each");
    let listed = request::list(&pool, bo).await.unwrap();
    assert_eq!(
        (listed[0].votes, listed[0].voted, listed[0].mine),
        (2, true, false)
    );

    // Declining needs a reason; an answer is given once.
    assert!(matches!(
        request::decide(&pool, id, false, " ", None).await,
        Err(RequestError::Reason)
    ));
    let d = request::decide(&pool, id, false, "Grossisten har den inte", None)
        .await
        .unwrap();
    assert_eq!(
        (d.requester_email.as_deref(), d.requester_lang.as_str()),
        (Some("alva@example.org"), "sv")
    );
    assert!(matches!(
        request::decide(&pool, id, true, "", None).await,
        Err(RequestError::Decided)
    ));
    assert!(matches!(
        request::vote(&pool, id, Uuid::new_v4()).await,
        Err(RequestError::Decided)
    ));
    assert!(matches!(
        request::decide(&pool, Uuid::new_v4(), true, "", None).await,
        Err(RequestError::NoRequest)
    ));

    // No title; and at most ten open requests per member, even sent at once.
    assert!(matches!(
        request::create(&pool, &who(bo), "  ", "").await,
        Err(RequestError::Title)
    ));
    let tries: Vec<_> = (0..14)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(
                async move { request::create(&pool, &who(bo), &format!("Vara {i}"), "").await },
            )
        })
        .collect();
    let mut ok = 0;
    for t in tries {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(RequestError::TooMany) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, request::OPEN_PER_MEMBER);
}

#[cfg(feature = "interop")]
#[tokio::test]
async fn external_the_member_is_mailed_the_answer_in_their_language() {
    use coop_domain::Role;
    let smtp = coop_testkit::smtp::SmtpCapture::start(false);
    let app = crate::http::app_with("http://127.0.0.1:9", |v| smtp.configure(v)).await;
    let b = crate::http::Browser::open(&app).await;
    let mut alva = crate::http::user(&[Role::Member]);
    alva.email = Some("alva@example.org".into());
    let a = b
        .post(
            "/requests?lang=sv",
            &[("title", "Havremjölk barista"), ("details", "")],
            Some(&alva),
        )
        .await;
    assert_eq!(a.status, axum::http::StatusCode::SEE_OTHER, "{}", a.body);
    let id: Uuid = sqlx::query_scalar("select product_request_id from product_request")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let manager = crate::http::user(&[Role::Member, Role::Manager]);
    let a = b
        .post(
            &format!("/requests/{id}/decide"),
            &[
                ("decision", "decline"),
                ("reason", "Grossisten har den inte"),
            ],
            Some(&manager),
        )
        .await;
    assert_eq!(a.status, axum::http::StatusCode::SEE_OTHER);
    assert!(a.location.unwrap().ends_with("done=decided"));
    let mail = smtp.message(1).await;
    assert_eq!(mail["to"][0][1], "alva@example.org");
    let body = mail["text"].as_str().unwrap();
    assert!(
        body.contains("Havremjölk barista") && body.contains("Grossisten har den inte"),
        "{body}"
    );
    assert!(
        mail["subject"]
            .as_str()
            .unwrap()
            .starts_with("Ditt önskemål"),
        "{}",
        mail["subject"]
    );
    // The member sees the answer on the page.
    let page = b.get("/requests", Some(&alva)).await;
    assert!(page.body.contains("Grossisten har den inte"));
}
