//! The till.json the till's NixOS module renders for hosts/till-pi (tests/nix/run.sh keeps the
//! fixture equal to it) is one `coop-pos till check-config` accepts; what an operator could get
//! wrong in it is refused, naming the key.

use std::process::Command;

fn check(path: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_coop-pos"))
        .args(["till", "check-config", "--config"])
        .arg(path)
        .env_remove("COOPERAGE_TILL_CONFIG")
        .output()
        .expect("running coop-pos")
}

#[test]
fn the_till_images_rendered_config_checks() {
    let fixture = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/till-pi-till.json");
    let out = check(&fixture);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["central_url"], "https://coop.example.org/pos");
    assert_eq!(view["sso_url"], "https://coop.example.org");
    assert_eq!(view["listen"], "127.0.0.1:8180");

    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, serde_json::Value, &str); 7] = [
        (
            "sso_url",
            serde_json::json!("ftp://coop.example.org"),
            "sso_url",
        ),
        ("central_url", serde_json::json!("not a url"), "central_url"),
        ("listen", serde_json::json!("8180"), "listen"),
        ("lang", serde_json::json!("xx"), "lang"),
        (
            "state_directory",
            serde_json::json!("var/lib/cooperage-till"),
            "state_directory",
        ),
        ("token_file", serde_json::json!("/run/token"), "not both"),
        (
            "central",
            serde_json::json!("https://x"),
            "unknown field `central`",
        ),
    ];
    for (key, value, expected) in cases {
        let mut v = original.clone();
        v[key] = value;
        let bad = dir.path().join(format!("{key}.json"));
        std::fs::write(&bad, v.to_string()).unwrap();
        let out = check(&bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}: accepted");
        assert!(err.contains(expected), "{key}: {err}");
    }
    // No way to get tokens at all.
    let mut v = original;
    v.as_object_mut().unwrap().remove("sso_url");
    let bad = dir.path().join("no-sso.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    let out = check(&bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs sso_url"));
}
