//! The config the NixOS module renders for hosts/demo-server (committed as a fixture by
//! tests/nix/run.sh) must satisfy the binary: the Nix side and the Rust side cannot drift apart.

use std::path::PathBuf;
use std::process::Command;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/demo-server-cooperage.json")
}

fn check_config(path: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_coop-sso"))
        .args(["check-config", "--config"])
        .arg(path)
        .env_remove("COOPERAGE_CONFIG")
        .output()
        .expect("running coop-sso")
}

#[test]
fn the_nix_rendered_demo_server_config_is_accepted() {
    let out = check_config(&fixture());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["issuer"], "https://coop.example.org");
    assert_eq!(view["services"]["sso"]["listen"], "127.0.0.1:8101");
    assert_eq!(
        view["services"]["sso"]["database_url"],
        "postgres:///coop_sso?host=/run/postgresql"
    );
    assert_eq!(
        view["service_settings"]["clients"][0]["client_id"],
        "synapse"
    );
}

#[test]
fn a_config_with_a_misspelt_key_is_refused_naming_it() {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap();
    v["services"]["sso"]["clients"][0]["redirect_uri"] =
        serde_json::json!("https://x.example.org/cb");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cooperage.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let out = check_config(&path);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("services.sso.clients[0]") && err.contains("unknown field `redirect_uri`"),
        "{err}"
    );
}
