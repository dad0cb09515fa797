use std::collections::BTreeMap;

use serde_json::json;

use super::*;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SsoExtra {
    #[serde(default)]
    bookkeeper_appointment: Option<String>,
}

fn sample() -> Value {
    json!({
        "organisation": { "name": "Röstånga Matkooperativ" },
        "domain": "coop.example.org",
        "locale": { "default": "sv" },
        "currency": "SEK",
        "vat_classes": {
            "food": { "rates": [ { "from": "2024-01-01", "percent": "12" }, { "from": "2026-04-01", "percent": "6" } ] },
            "standard": { "rates": [ { "from": "1990-07-01", "percent": "25" } ] }
        },
        "services": { "sso": { "bookkeeper_appointment": "members" }, "buyers_club": {} }
    })
}

fn no_env() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn err_of(v: Value, env: &BTreeMap<String, String>) -> String {
    parse::<SsoExtra>(v, ServiceName::Sso, env)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_minimal_config_resolves_with_derived_values() {
    let l = parse::<SsoExtra>(sample(), ServiceName::Sso, &no_env()).unwrap();
    assert_eq!(l.coop.issuer().as_deref(), Some("https://coop.example.org"));
    assert_eq!(l.service.listen.to_string(), "127.0.0.1:8101");
    assert_eq!(
        l.service.database_url.expose(),
        "postgres:///coop_sso?host=/run/postgresql"
    );
    assert_eq!(l.service.base_path(), "/");
    let club = l.coop.service(ServiceName::BuyersClub).unwrap();
    assert_eq!(
        club.public_url.as_str(),
        "https://coop.example.org/buyers-club"
    );
    assert_eq!(club.base_path(), "/buyers-club");
    assert_eq!(
        club.url("/auth/callback"),
        "https://coop.example.org/buyers-club/auth/callback"
    );
    assert_eq!(l.coop.cash_rounding, Decimal::ONE);
    assert_eq!(l.extra.bookkeeper_appointment.as_deref(), Some("members"));
    assert!(l.service.secure_cookies());
}

#[test]
fn unknown_keys_are_refused_with_their_path() {
    let mut v = sample();
    v["organisation"]["nmae"] = json!("x");
    let e = err_of(v, &no_env());
    assert!(
        e.contains("organisation") && e.contains("unknown field `nmae`"),
        "{e}"
    );

    let mut v = sample();
    v["services"]["sso"]["lisen"] = json!("x");
    let e = err_of(v, &no_env());
    assert!(
        e.contains("services.sso") && e.contains("unknown field `lisen`"),
        "{e}"
    );

    let mut v = sample();
    v["services"]["kitchen"] = json!({});
    let e = err_of(v, &no_env());
    assert!(
        e.contains("services.kitchen") && e.contains("unknown service"),
        "{e}"
    );
}

#[test]
fn wrong_types_and_missing_values_name_the_key() {
    let mut v = sample();
    v["member_only_shop"] = json!("yes");
    let e = err_of(v, &no_env());
    assert!(
        e.contains("`member_only_shop`") && e.contains("expected a boolean"),
        "{e}"
    );

    let mut v = sample();
    v.as_object_mut().unwrap().remove("currency");
    let e = err_of(v, &no_env());
    assert!(e.contains("missing field `currency`"), "{e}");

    let mut v = sample();
    v["currency"] = json!("KRONOR");
    assert!(err_of(v, &no_env()).contains("`currency`"));

    let mut v = sample();
    v["services"]["sso"]["listen"] = json!("localhost");
    let e = err_of(v, &no_env());
    assert!(
        e.contains("services.sso.listen") && e.contains("host:port"),
        "{e}"
    );

    let mut v = sample();
    v["domain"] = json!("not a domain");
    assert!(err_of(v, &no_env()).contains("`domain`"));

    let mut v = sample();
    v["locale"]["default"] = json!("de");
    assert!(err_of(v, &no_env()).contains("locale.default"));

    let mut v = sample();
    v["vat_classes"]["food"]["rates"] = json!([]);
    assert!(err_of(v, &no_env()).contains("vat_classes"));

    let mut v = sample();
    v["services"].as_object_mut().unwrap().remove("sso");
    let e = err_of(v, &no_env());
    assert!(e.contains("services.sso") && e.contains("missing"), "{e}");
}

#[test]
fn environment_overrides_replace_values() {
    let mut env = no_env();
    env.insert(
        "COOPERAGE__SERVICES__SSO__LISTEN".into(),
        "unix:/run/coop-sso/http.sock".into(),
    );
    env.insert("COOPERAGE__MEMBER_ONLY_SHOP".into(), "false".into());
    env.insert("COOPERAGE__ORGANISATION__NAME".into(), "Other Co-op".into());
    env.insert("UNRELATED".into(), "x".into());
    let l = parse::<SsoExtra>(sample(), ServiceName::Sso, &env).unwrap();
    assert_eq!(
        l.service.listen,
        ListenAddr::Unix("/run/coop-sso/http.sock".into())
    );
    assert!(!l.coop.member_only_shop);
    assert_eq!(l.coop.organisation.name, "Other Co-op");

    let mut env = no_env();
    env.insert("COOPERAGE__SERVICES__SSO__NOPE".into(), "1".into());
    assert!(err_of(sample(), &env).contains("unknown field `nope`"));
}

#[test]
fn secret_files_resolve_against_the_credentials_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("smtp-password"), "hunter2\n").unwrap();
    let mut v = sample();
    v["mail"] = json!({ "from": "Co-op <noreply@coop.example.org>", "smtp_host": "localhost",
                        "smtp_security": "none", "smtp_password_file": "smtp-password" });
    let mut env = no_env();
    env.insert(
        "CREDENTIALS_DIRECTORY".into(),
        dir.path().display().to_string(),
    );
    let l = parse::<SsoExtra>(v, ServiceName::Sso, &env).unwrap();
    let mail = l.coop.mail.as_ref().unwrap();
    assert_eq!(mail.smtp_port, 25);
    let secret = mail.smtp_password_file.as_ref().unwrap().read().unwrap();
    assert_eq!(secret.expose_secret(), "hunter2");
    assert_eq!(format!("{secret:?}"), "SecretBox<str>([REDACTED])");

    // The resolved view names the file, never the secret.
    let view = resolved_view(&l).to_string();
    assert!(
        view.contains("smtp-password") && !view.contains("hunter2"),
        "{view}"
    );
}

#[test]
fn missing_secret_file_names_the_key() {
    let f = SecretFile::resolve("mail.smtp_password_file", "/nonexistent/x", None);
    let e = f.read().unwrap_err().to_string();
    assert!(
        e.contains("mail.smtp_password_file") && e.contains("/nonexistent/x"),
        "{e}"
    );
}

#[test]
fn database_url_never_shows_its_password() {
    let u = DatabaseUrl::parse("postgres://coop:s3cret@db.example.org/coop_sso").unwrap();
    assert!(!format!("{u:?}").contains("s3cret"));
    assert!(!u.to_string().contains("s3cret"));
    assert!(u.expose().contains("s3cret"));
    let u =
        DatabaseUrl::parse("postgres:///coop_sso?host=/run/postgresql&password=s3cret").unwrap();
    assert!(!u.to_string().contains("s3cret"), "{u}");
    assert!(DatabaseUrl::parse("mysql://x/y").is_err());
}

#[test]
fn state_directory_comes_from_systemd_when_not_configured() {
    let mut env = no_env();
    env.insert("STATE_DIRECTORY".into(), "/var/lib/private/coop-sso".into());
    let l = parse::<SsoExtra>(sample(), ServiceName::Sso, &env).unwrap();
    assert_eq!(
        l.service.state_directory,
        PathBuf::from("/var/lib/private/coop-sso")
    );
}

#[test]
fn the_check_config_view_masks_database_passwords() {
    let mut v = sample();
    v["services"]["sso"]["database_url"] = json!("postgres://coop:s3cret@localhost/coop_sso");
    let l = parse::<SsoExtra>(v, ServiceName::Sso, &no_env()).unwrap();
    let view = resolved_view(&l);
    let text = view.to_string();
    assert!(!text.contains("s3cret"), "{text}");
    assert_eq!(
        view["services"]["buyers_club"]["redirect_uri"],
        "https://coop.example.org/buyers-club/auth/callback"
    );
    assert_eq!(view["issuer"], "https://coop.example.org");
}

#[test]
fn branding_and_time_zone_are_checked_at_start() {
    let l = parse::<SsoExtra>(sample(), ServiceName::Sso, &no_env()).unwrap();
    assert_eq!(l.coop.time_zone, chrono_tz::Tz::UTC);
    assert_eq!(l.coop.organisation.accent_colour, AccentColour::DEFAULT);
    assert!(l.coop.organisation.logo_file.is_none());

    let mut v = sample();
    v["locale"]["time_zone"] = json!("Europe/Stockholm");
    v["organisation"]["accent_colour"] = json!("#7A2E6B");
    let l = parse::<SsoExtra>(v, ServiceName::Sso, &no_env()).unwrap();
    assert_eq!(l.coop.time_zone, chrono_tz::Europe::Stockholm);
    assert_eq!(l.coop.organisation.accent_colour.css(), "#7a2e6b");

    let mut v = sample();
    v["locale"]["time_zone"] = json!("Europe/Stokholm");
    let e = err_of(v, &no_env());
    assert!(
        e.contains("locale.time_zone") && e.contains("Europe/Stokholm"),
        "{e}"
    );

    // Yellow: white text on it would be unreadable.
    let mut v = sample();
    v["organisation"]["accent_colour"] = json!("#ffdd00");
    let e = err_of(v, &no_env());
    assert!(
        e.contains("organisation.accent_colour") && e.contains("contrast"),
        "{e}"
    );
    for bad in ["2f6b3a", "#2f6b3", "#2f6b3g", "green"] {
        let mut v = sample();
        v["organisation"]["accent_colour"] = json!(bad);
        assert!(
            err_of(v, &no_env()).contains("organisation.accent_colour"),
            "{bad}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("logo.svg");
    std::fs::write(&svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
    let mut v = sample();
    v["organisation"]["logo_file"] = json!(svg);
    let l = parse::<SsoExtra>(v, ServiceName::Sso, &no_env()).unwrap();
    assert_eq!(
        l.coop.organisation.logo_file.as_deref(),
        Some(svg.as_path())
    );
    for bad in [dir.path().join("missing.png"), dir.path().join("logo.gif")] {
        let mut v = sample();
        v["organisation"]["logo_file"] = json!(bad);
        assert!(
            err_of(v, &no_env()).contains("organisation.logo_file"),
            "{bad:?}"
        );
    }
}

#[test]
fn white_on_the_accent_colour_is_measured_as_wcag_does() {
    // Reference values: black 21:1, white 1:1, #767676 is the lightest grey that passes.
    assert!(
        (AccentColour::parse("#000000")
            .unwrap()
            .contrast_with_white()
            - 21.0)
            .abs()
            < 0.01
    );
    assert!(AccentColour::parse("#ffffff").is_err());
    assert!(AccentColour::parse("#767676").is_ok());
    assert!(AccentColour::parse("#777777").is_err());
}

#[test]
fn the_service_table_is_in_enum_order_and_keys_are_unique() {
    for (i, s) in SERVICES.iter().enumerate() {
        assert_eq!(s.name as usize, i, "{:?} is out of place", s.name);
        assert_eq!(ServiceName::from_key(s.key), Some(s.name));
        assert_eq!(s.name.client_id(), s.binary);
    }
    let mut ports: Vec<u16> = SERVICES.iter().map(|s| s.default_port).collect();
    ports.dedup();
    assert_eq!(ports.len(), SERVICES.len());
}

#[test]
fn the_resolved_view_is_the_config_itself_with_no_secret_in_it() {
    let mut v = sample();
    v["mail"] = json!({ "from": "coop@example.org", "smtp_host": "mail.example.org", "smtp_password_file": "smtp" });
    v["matrix"] = json!({ "enable": true });
    v["services"]["sso"]["database_url"] = json!("postgres://coop:s3cret@db.example.org/coop_sso");
    v["services"]["sso"]["client_secret_file"] = json!("sso-client-secret");
    let mut env = BTreeMap::new();
    env.insert(
        "CREDENTIALS_DIRECTORY".to_owned(),
        "/run/credentials/x".to_owned(),
    );
    let loaded: Loaded<serde_json::Value> = parse(v, ServiceName::Sso, &env).unwrap();
    let view = resolved_view(&loaded);
    let text = view.to_string();
    assert!(!text.contains("s3cret"), "{text}");
    assert_eq!(
        view["services"]["sso"]["database_url"],
        "postgres://coop:*****@db.example.org/coop_sso"
    );
    assert_eq!(
        view["services"]["sso"]["client_secret_file"],
        "/run/credentials/x/sso-client-secret"
    );
    assert_eq!(view["services"]["sso"]["client_id"], "coop-sso");
    assert_eq!(view["issuer"], json!(loaded.coop.issuer()));
    // Every field of the resolved types is there: the view is derived from them.
    for key in [
        "organisation",
        "domain",
        "public_url",
        "default_lang",
        "languages",
        "time_zone",
        "currency",
        "cash_rounding",
        "vat_classes",
        "member_only_shop",
        "member_number",
        "mail",
        "matrix",
        "services",
    ] {
        assert!(view.get(key).is_some(), "{key} missing from {text}");
    }
    assert_eq!(
        loaded.secret_file("services.sso.x", "k").path(),
        std::path::Path::new("/run/credentials/x/k")
    );
    assert_eq!(
        loaded.secret_file("services.sso.x", "/etc/k").path(),
        std::path::Path::new("/etc/k")
    );
}
