//! coop-ims refuses a config key it does not know, naming it (the NixOS fixture check comes with
//! the module).

use std::process::Command;

#[test]
fn a_misspelt_key_stops_coop_ims_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = coop_testkit::config::coop_config(
        "ims",
        "postgres:///nowhere",
        dir.path(),
        "https://coop.example.org/ims",
    );
    v["services"]["ims"]["client_secret_file"] = serde_json::json!("/nonexistent");
    let good = dir.path().join("good.json");
    std::fs::write(&good, v.to_string()).unwrap();
    v["services"]["ims"]["show_location"] = serde_json::json!(true);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    let run = |p: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_coop-ims"))
            .args(["check-config", "--config"])
            .arg(p)
            .env_remove("COOPERAGE_CONFIG")
            .output()
            .unwrap()
    };
    let out = run(&bad);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("show_location"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&good);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("unknown field"), "{err}");
}

#[test]
fn the_demo_servers_rendered_config_checks() {
    let fixture = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/demo-server-cooperage.json");
    let out = Command::new(env!("CARGO_BIN_EXE_coop-ims"))
        .args(["check-config", "--config"])
        .arg(&fixture)
        .env_remove("COOPERAGE_CONFIG")
        .output()
        .expect("running coop-ims");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["services"]["ims"]["listen"], "127.0.0.1:8103");
    assert_eq!(
        view["services"]["ims"]["public_url"],
        "https://coop.example.org/ims"
    );
    assert_eq!(view["service_settings"]["show_locations"], true);
    assert_eq!(view["service_settings"]["locations"][1]["code"], "lager");
}
