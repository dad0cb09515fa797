//! The config the NixOS module renders for the example server is one coop-finance starts from.

use std::process::Command;

#[test]
fn the_demo_servers_rendered_config_checks() {
    let fixture = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/demo-server-cooperage.json");
    let out = Command::new(env!("CARGO_BIN_EXE_coop-finance"))
        .args(["check-config", "--config"])
        .arg(&fixture)
        .env_remove("COOPERAGE_CONFIG")
        .output()
        .expect("running coop-finance");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["services"]["finance"]["listen"], "127.0.0.1:8104");
    assert_eq!(
        view["services"]["finance"]["public_url"],
        "https://coop.example.org/finance"
    );
    assert_eq!(view["service_settings"]["second_bookkeeper_above"], "2000");
    assert_eq!(view["service_settings"]["wallet_per"], "member");

    // A key the service does not know stops it at start, naming the key.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    v["services"]["finance"]["second_bookkeeper"] = serde_json::json!("2000");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("cooperage.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_coop-finance"))
        .args(["check-config", "--config"])
        .arg(&bad)
        .env_remove("COOPERAGE_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("second_bookkeeper"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
