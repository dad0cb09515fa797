//! The authorization sweep: every route of every service (as their routers declare them, read
//! from the sources), asked by each of nine principals on the running suite, against one table
//! in the repo, `docs/authorization.md`. Any difference fails the test, and so does a declared
//! route the table lacks. Then every form a principal may send is sent again without its CSRF
//! token and with another session's: each must be refused (403).
//!
//! A request carries no form fields but the CSRF token, and ids that name nothing (so a form
//! that is allowed answers 404 or 422 and changes nothing), except in the rows that name the
//! member Mia's own things (`{mia}`, `{mia-order}`, `{mia-session}`, `{mia-wallet}`): there the
//! other member, Olle, must be refused what Mia is given. Mia asks those rows last, so that
//! what she is allowed to change is still there when the others ask. `COOP_AUTHZ_RECORD=1` writes the
//! table from what the suite answers, for a person to read through before committing.
//!
//! The till's own screens are not in it: they belong to the device, which a cashier unlocks
//! with a PIN (the till's tests cover them); its API at central is, with a till's token.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use reqwest::Method;

use crate::browser::Browser;
use crate::people::Person;
use crate::suite::Suite;

/// The principals, in the table's column order.
const WHO: [&str; 9] = [
    "anonymous",
    "member",
    "cashier",
    "manager",
    "bookkeeper",
    "admin",
    "other member",
    "service token",
    "till token",
];

/// Where each service declares its routes (besides the kit's, which the table lists by hand).
const SOURCES: [(&str, &[&str]); 5] = [
    (
        "sso",
        &[
            "crates/coop-sso/src/http/account.rs",
            "crates/coop-sso/src/http/admin/mod.rs",
            "crates/coop-sso/src/http/invite.rs",
            "crates/coop-sso/src/http/login.rs",
            "crates/coop-sso/src/http/oidc/mod.rs",
        ],
    ),
    ("pos", &["crates/coop-pos/src/http/mod.rs"]),
    ("ims", &["crates/coop-ims/src/http/mod.rs"]),
    ("finance", &["crates/coop-finance/src/http/mod.rs"]),
    ("buyers_club", &["crates/coop-buyers-club/src/http/mod.rs"]),
];

const TABLE: &str = "docs/authorization.md";

/// `(method, path)` of every `.route("path", get(..).post(..))` in `source`.
fn declared(source: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        // The call's text, to its closing parenthesis.
        let mut depth = 1;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let call = &rest[..end];
        let Some(path) = call
            .split_once('"')
            .and_then(|(_, p)| p.split_once('"'))
            .map(|(p, _)| p.to_owned())
        else {
            continue;
        };
        let handlers = call.split_once(',').map_or("", |(_, h)| h);
        for (method, token) in [
            ("GET", "get("),
            ("POST", "post("),
            ("PUT", "put("),
            ("DELETE", "delete("),
        ] {
            let found = handlers.match_indices(token).any(|(i, _)| {
                i == 0 || !handlers[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            });
            if found {
                out.insert((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

/// A row of the table: service, method, path, and an outcome per principal.
type Row = (String, String, String, Vec<String>);

fn read_table(text: &str) -> Vec<Row> {
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| service") && !l.starts_with("|--"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect();
            (
                cells[0].clone(),
                cells[1].clone(),
                cells[2].clone(),
                cells[3..].to_vec(),
            )
        })
        .collect()
}

fn write_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "# Who may reach what: the authorization table\n\n\
         Every route of every service, and what it answers each principal. The test\n\
         `external_every_route_answers_every_principal_as_the_table_says`\n\
         (`crates/coop-suite-tests/tests/week/authz.rs`) asks the running suite and fails on any\n\
         difference, and on a route a service declares that is missing here. Requests carry no\n\
         form fields but the CSRF token, and ids that name nothing, so an allowed form answers\n\
         404 or 422 and changes nothing. `login`: sent to sign in. `303`, `302`: sent on\n\
         elsewhere. The principals: a member (Mia), a cashier, a manager, a bookkeeper and an\n\
         admin, each with only that role besides member; another member (Olle), who must be\n\
         refused what is Mia's in the rows naming her things (`{mia}` her member id,\n\
         `{mia-order}` an order the manager started where she bought, `{mia-session}` a second\n\
         session of hers, `{mia-wallet}` her wallet; Mia asks those rows last);\n\
         coop-buyers-club's client-credentials token; a paired till's token. Cookies for the people, bearer tokens for the two others.\n\
         The till's own screens are not here: a cashier unlocks them with a PIN on the device.\n\n\
         `COOP_AUTHZ_RECORD=1` rewrites the table from what the suite answers; read the\n\
         difference before committing it. An id in a path names nothing: a UUID, or a number where\n\
         a UUID does not parse for anyone (400).\n\n",
    );
    out.push_str("| service | method | path |");
    for w in WHO {
        let _ = write!(out, " {w} |");
    }
    out.push_str("\n|--|--|--|");
    for _ in WHO {
        out.push_str("--|");
    }
    out.push('\n');
    for (service, method, path, outcomes) in rows {
        let _ = write!(out, "| {service} | {method} | `{path}` |");
        for o in outcomes {
            let _ = write!(out, " {o} |");
        }
        out.push('\n');
    }
    out
}

/// A route's template with every `{param}` the same, to match table rows to declarations.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// A principal's way of asking.
enum Asker<'a> {
    Person(&'a Browser),
    Anonymous(&'a Browser),
    Bearer(&'a str),
}

/// What a principal is answered: the status, or `login` for a redirect to sign in.
async fn outcome(
    suite: &Suite,
    service: &str,
    method: &str,
    path: &str,
    asker: &Asker<'_>,
    csrf: Option<&str>,
) -> String {
    let url = format!("{}{path}", suite.url(service));
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let response = match asker {
        Asker::Person(b) | Asker::Anonymous(b) => {
            let mut fields = Vec::new();
            if let Some(t) = csrf {
                fields.push(("csrf_token".to_owned(), t.to_owned()));
            }
            if method == Method::GET {
                b.raw(&url, None).await
            } else {
                b.raw(&url, Some(&fields)).await
            }
        }
        Asker::Bearer(token) => {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            http.request(method.clone(), &url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let status = response.status().as_u16();
    if (300..400).contains(&status) {
        let location = coop_testkit::http::location(&response);
        if location.contains("/auth/login")
            || location.contains("/login?")
            || location.ends_with("/login")
        {
            return "login".to_owned();
        }
    }
    status.to_string()
}

/// The CSRF token a page of `service` gives this browser's session there.
async fn csrf_of(suite: &Suite, service: &str, b: &Browser) -> Option<String> {
    for path in ["/", "/account", "/login", "/styleguide"] {
        let page = b
            .go_until(&format!("{}{path}", suite.url(service)), None, |u| {
                !u.starts_with(suite.url(service))
            })
            .await;
        if let Some(t) = coop_testkit::html::hidden_input(&page.body, "csrf_token") {
            return Some(t);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_every_route_answers_every_principal_as_the_table_says() {
    let _alone = crate::suite::ALONE.lock().await;
    let suite = Suite::start(false).await;
    let mut ada = crate::week::first_admin(&suite).await;
    let mut people = [
        (Person::new("Mia Medlem", "mia@localhost"), vec!["member"]),
        (
            Person::new("Cas Kassör", "cas@localhost"),
            vec!["member", "cashier"],
        ),
        (
            Person::new("Max Chef", "max@localhost"),
            vec!["member", "manager"],
        ),
        (
            Person::new("Bea Bokförare", "bea@localhost"),
            vec!["member", "bookkeeper"],
        ),
        (Person::new("Olle Annan", "olle@localhost"), vec!["member"]),
    ];
    for (who, roles) in &mut people {
        crate::week::invite(&suite, &mut ada, who, roles.as_slice(), "en").await;
    }
    let [mut mia, cas, mut max, mut bea, olle] = people.map(|(p, _)| p);
    let anonymous = Browser::new("anonymous");

    // Mia's own things, for the rows that name them: her member id; her wallet, with money in
    // it; her part of an order the manager started; a second session of hers (another device).
    let mia_id: uuid::Uuid = sqlx::query_scalar("select member_id from member where email = $1")
        .bind(mia.email)
        .fetch_one(&suite.db("sso").await)
        .await
        .unwrap();
    crate::week::top_up(&suite, &mut mia, &mut bea, "100").await;
    let mia_wallet: uuid::Uuid =
        sqlx::query_scalar("select wallet_id from wallet where owner_id = $1")
            .bind(mia_id)
            .fetch_one(&suite.db("finance").await)
            .await
            .unwrap();
    let (order_path, apples) = crate::week::apple_order(&suite, &mut max).await;
    crate::week::buy(&suite, &mut mia, &order_path, &apples, "1").await;
    let mia_order = order_path.rsplit('/').next().unwrap().to_owned();
    let mut mia_elsewhere = Person::new("Mia Medlem", "mia@localhost");
    mia_elsewhere.sign_in(&suite).await;
    let mia_session: uuid::Uuid = sqlx::query_scalar(
        "select web_session_id from web_session where member_id = $1 and revoked_at is null \
         order by created_at desc limit 1",
    )
    .bind(mia_id)
    .fetch_one(&suite.db("sso").await)
    .await
    .unwrap();
    let mias = [
        ("{mia}", mia_id.to_string()),
        ("{mia-order}", mia_order),
        ("{mia-session}", mia_session.to_string()),
        ("{mia-wallet}", mia_wallet.to_string()),
    ];

    // coop-buyers-club's token, as it gets one to use the wallet API.
    let http = reqwest::Client::new();
    let secret =
        std::fs::read_to_string(suite.dir.path().join("buyers_club-client-secret")).unwrap();
    let service_token = access_token(
        http.post(format!("{}/token", suite.url("sso")))
            .basic_auth("coop-buyers-club", Some(secret.trim()))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    // A till's token, through the device grant as a till gets it, approved by the manager.
    let grant: serde_json::Value = http
        .post(format!("{}/device/authorize", suite.url("sso")))
        .form(&[("client_id", "coop-till")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    max.approve_device(&suite, grant["user_code"].as_str().unwrap(), "Kassa 9")
        .await;
    let till_token = access_token(http.post(format!("{}/token", suite.url("sso"))).form(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", grant["device_code"].as_str().unwrap()),
        ("client_id", "coop-till"),
    ]))
    .await;

    // Each person signed in at every service: their session at coop-sso (from accepting the
    // invitation) signs them in elsewhere without a form, whatever the start page then says.
    for p in [&mia, &cas, &max, &bea, &ada, &olle] {
        for (key, _) in crate::suite::SERVICES {
            let page = p
                .browser
                .go_until(&format!("{}/", suite.url(key)), None, |_| false)
                .await;
            assert!(
                page.url.starts_with(suite.url(key)),
                "{} is not signed in at {key}: {}",
                p.name,
                page.url
            );
        }
    }
    let askers: Vec<Asker> = vec![
        Asker::Anonymous(&anonymous),
        Asker::Person(&mia.browser),
        Asker::Person(&cas.browser),
        Asker::Person(&max.browser),
        Asker::Person(&bea.browser),
        Asker::Person(&ada.browser),
        Asker::Person(&olle.browser),
        Asker::Bearer(&service_token),
        Asker::Bearer(&till_token),
    ];
    let mut tokens: BTreeMap<(usize, String), Option<String>> = BTreeMap::new();
    for (i, asker) in askers.iter().enumerate() {
        if let Asker::Person(b) | Asker::Anonymous(b) = asker {
            for (key, _) in crate::suite::SERVICES {
                tokens.insert((i, key.to_owned()), csrf_of(&suite, key, b).await);
            }
        }
    }

    let root = coop_testkit::repo::root();
    let table_text = std::fs::read_to_string(root.join(TABLE)).unwrap_or_default();
    let table = read_table(&table_text);
    let record = std::env::var_os("COOP_AUTHZ_RECORD").is_some();

    // The declared routes the table must have.
    let mut missing = Vec::new();
    let mut rows: Vec<(String, String, String)> = table
        .iter()
        .map(|(s, m, p, _)| (s.clone(), m.clone(), p.clone()))
        .collect();
    for (service, files) in SOURCES {
        for file in files {
            let source = std::fs::read_to_string(root.join(file)).unwrap();
            for (method, path) in declared(&source) {
                let known = rows
                    .iter()
                    .any(|(s, m, p)| s == service && *m == method && shape(p) == shape(&path));
                if !known {
                    missing.push(format!("{service} {method} {path}"));
                    rows.push((service.to_owned(), method, path));
                }
            }
        }
    }
    // The kit's routes, which every service mounts (coop-sso is no relying party: no /auth).
    for (service, _) in crate::suite::SERVICES {
        let mut kit = vec![
            ("GET", "/healthz"),
            ("GET", "/readyz"),
            ("GET", "/metrics"),
            ("GET", "/styleguide"),
            ("GET", "/api/feed"),
        ];
        if service == "ims" {
            // coop-ims runs its exports and imports as background jobs.
            kit.extend([
                ("GET", "/jobs"),
                ("GET", "/jobs/{id}"),
                ("GET", "/jobs/{id}/status"),
                ("GET", "/jobs/{id}/download"),
            ]);
        }
        if service != "sso" {
            kit.extend([
                ("GET", "/auth/login"),
                ("GET", "/auth/callback"),
                ("POST", "/auth/logout"),
            ]);
        }
        for (method, path) in kit {
            let known = rows
                .iter()
                .any(|(s, m, p)| s == service && m == method && p == path);
            if !known {
                missing.push(format!("{service} {method} {path} (the kit's)"));
                rows.push((service.to_owned(), method.to_owned(), path.to_owned()));
            }
        }
    }
    // Sign-outs last: they end the session the other rows need.
    rows.sort_by_key(|(_, _, p)| p.contains("logout"));

    let mut answered: Vec<Row> = Vec::new();
    // The path each row was asked at.
    let mut asked: Vec<String> = Vec::new();
    let mut csrf_checked = None;
    for (service, method, template) in &rows {
        // The forms' CSRF check, before the sign-outs end the sessions it needs.
        if template.contains("logout") && csrf_checked.is_none() && !record {
            csrf_checked = Some(csrf_sweep(&suite, &askers, &tokens, &answered, &asked).await);
        }
        let mut outcomes = Vec::new();
        let mut path = String::new();
        // Ids that name nothing: a UUID, or a number where every person's answer says the
        // route takes a number (400: the path did not parse, before anyone's rights counted).
        // A row naming Mia's things: Mia asks last.
        let order: Vec<usize> = if template.contains("{mia") {
            (0..askers.len()).filter(|&i| i != 1).chain([1]).collect()
        } else {
            (0..askers.len()).collect()
        };
        for numeric in [false, true] {
            let mut named = template.clone();
            for (placeholder, value) in &mias {
                named = named.replace(placeholder, value);
            }
            path = fill_params(&named, numeric);
            outcomes = vec![String::new(); askers.len()];
            for &i in &order {
                let csrf = tokens.get(&(i, service.clone())).cloned().flatten();
                outcomes[i] =
                    outcome(&suite, service, method, &path, &askers[i], csrf.as_deref()).await;
            }
            if !template.contains('{') || outcomes[1..7].iter().any(|o| o != "400") {
                break;
            }
        }
        asked.push(path);
        answered.push((service.clone(), method.clone(), template.clone(), outcomes));
    }

    if record {
        let mut sorted = answered.clone();
        sorted.sort();
        std::fs::write(root.join(TABLE), write_table(&sorted)).unwrap();
        eprintln!("authz: wrote {} rows to {TABLE}", sorted.len());
        return;
    }
    let mut differences = Vec::new();
    for (service, method, path, got) in &answered {
        let expected = table
            .iter()
            .find(|(s, m, p, _)| s == service && m == method && p == path)
            .map(|r| r.3.clone());
        if expected.as_ref() != Some(got) {
            differences.push(format!(
                "{service} {method} {path}: expected {expected:?}, answered {got:?}"
            ));
        }
    }
    assert!(
        missing.is_empty() && differences.is_empty(),
        "routes missing from {TABLE}:\n{}\n\ndifferences:\n{}",
        missing.join("\n"),
        differences.join("\n")
    );

    eprintln!(
        "authz: {} routes × {} principals as the table says; {} form posts without a good CSRF token refused",
        answered.len(),
        WHO.len(),
        csrf_checked.unwrap_or_default()
    );
}

/// Every form a person may send (the table's rows so far), sent again without its CSRF token and
/// with another session's, at the path the table asked: each must be refused (403). Returns
/// how many.
async fn csrf_sweep(
    suite: &Suite,
    askers: &[Asker<'_>],
    tokens: &BTreeMap<(usize, String), Option<String>>,
    answered: &[Row],
    asked: &[String],
) -> usize {
    let mut csrf_checked = 0;
    for ((service, method, template, outcomes), path) in answered.iter().zip(asked) {
        if method != "POST" || template.contains("logout") {
            continue;
        }
        for (i, asker) in askers.iter().enumerate() {
            let Asker::Person(_) = asker else { continue };
            // Only where the form reached its handler (a 400 is a path or form that did not
            // parse, before any token was looked at).
            if matches!(
                outcomes[i].as_str(),
                "403" | "401" | "login" | "405" | "400"
            ) {
                continue;
            }
            let other = tokens
                .get(&(if i == 1 { 2 } else { 1 }, service.clone()))
                .cloned()
                .flatten();
            for token in [None, other.as_deref()] {
                let got = outcome(suite, service, method, path, asker, token).await;
                assert_eq!(
                    got,
                    "403",
                    "{service} POST {path} as the {} with {} CSRF token",
                    WHO[i],
                    if token.is_some() { "another's" } else { "no" }
                );
                csrf_checked += 1;
            }
        }
    }
    csrf_checked
}

/// The access token coop-sso's token endpoint answers `request` with.
async fn access_token(request: reqwest::RequestBuilder) -> String {
    let answer: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {answer}"))
        .to_owned()
}

/// Fills a route's other parameters with values that name nothing: UUIDs, or numbers.
fn fill_params(path: &str, numeric: bool) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').map_or(rest.len(), |e| at + e);
        let name = &rest[at + 1..end];
        out.push_str(match name {
            "starts_on" => "2001-01-01",
            _ if numeric => "999999",
            "n" | "year" | "line" => "999999",
            "format" => "csv",
            "kind" => "none",
            _ => "00000000-0000-4000-8000-000000000000",
        });
        rest = &rest[(end + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}
