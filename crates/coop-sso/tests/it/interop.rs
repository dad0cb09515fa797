//! coop-sso, the real binary, against independent software: `openid-client` (a certified
//! relying-party library), `authlib`'s metadata validation, and Synapse signing a member in.
//! The harnesses live in tests/interop (see its README); `bash tests/interop/setup.sh`
//! installs them (`cargo xtask test` does it first).

use crate::binary;

use std::path::{Path, PathBuf};
use std::process::Command;

use coop_sso::domain::{MemberStatus, Role};
use coop_sso::members::{self, NewMember};

const PASSWORD: &str = "interop test password";

fn setup_harness() {
    binary::setup(
        "tests/interop/setup.sh",
        "node/npm and python3-venv are needed (cargo xtask test installs them)",
    );
}

fn run_harness(name: &str, program: &str, script: &str, env: &[(&str, String)]) {
    let out = Command::new(program)
        .arg(binary::repo().join("tests/interop").join(script))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(binary::repo())
        .output()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!(
        "--- {name}\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{name} failed:\n{stdout}");
    assert!(
        stdout.contains(" passed, 0 failed"),
        "{name} printed no summary"
    );
}

struct Setup {
    _server: binary::Binary,
    issuer: String,
    rp_secret: String,
    synapse_secret_file: PathBuf,
    synapse_port: u16,
}

async fn start(dir: &Path, synapse_port: u16) -> Setup {
    let rp_secret = "interop-rp-secret-0123456789".to_owned();
    std::fs::write(dir.join("rp-secret"), &rp_secret).unwrap();
    let synapse_secret_file = dir.join("synapse-secret");
    std::fs::write(&synapse_secret_file, "interop-synapse-secret-0123456789").unwrap();
    let server = binary::start(dir, |config| {
        config["services"]["sso"]["clients"] = serde_json::json!([
            { "client_id": "interop-rp", "name": "openid-client", "redirect_uris": ["http://127.0.0.1:9/rp/callback"],
              "secret_file": dir.join("rp-secret"),
              "scopes": ["openid", "profile", "email", "member", "roles", "offline_access"] },
            { "client_id": "synapse", "name": "Matrix", "secret_file": synapse_secret_file,
              "redirect_uris": [format!("http://127.0.0.1:{synapse_port}/_synapse/client/oidc/callback")],
              "backchannel_logout_uri": format!("http://127.0.0.1:{synapse_port}/_synapse/client/oidc/backchannel_logout") },
        ]);
    })
    .await;
    let hash = coop_sso::password::hash(PASSWORD.into()).await.unwrap();
    members::create(
        &server.pool,
        &coop_domain::MemberNumberFormat::default(),
        NewMember {
            name: "Åsa Öberg".into(),
            email: coop_domain::EmailAddress::parse("asa@example.org").unwrap(),
            preferred_lang: coop_web::Lang::Sv,
            roles: vec![Role::Member, Role::Cashier],
            status: MemberStatus::Active,
            password_hash: Some(hash),
        },
        None,
    )
    .await
    .unwrap();
    Setup {
        issuer: server.base_url.clone(),
        _server: server,
        rp_secret,
        synapse_secret_file,
        synapse_port,
    }
}

#[tokio::test]
async fn external_independent_relying_parties_accept_coop_sso() {
    setup_harness();
    let dir = tempfile::tempdir().unwrap();
    let synapse_port = binary::free_port();
    let s = start(dir.path(), synapse_port).await;
    let python = binary::repo()
        .join("tests/interop/.venv/bin/python")
        .display()
        .to_string();

    let common = |extra: &[(&'static str, String)]| {
        let mut v: Vec<(&str, String)> = vec![
            ("ISSUER", s.issuer.clone()),
            ("USER", "asa@example.org".into()),
            ("PASSWORD", PASSWORD.into()),
        ];
        v.extend(extra.iter().cloned());
        v
    };
    for auth in ["client_secret_basic", "client_secret_post"] {
        run_harness(
            &format!("openid-client ({auth})"),
            "node",
            "rp-openid-client.mjs",
            &common(&[
                ("CLIENT_ID", "interop-rp".into()),
                ("CLIENT_SECRET", s.rp_secret.clone()),
                ("CLIENT_AUTH", auth.into()),
                ("REDIRECT_URI", "http://127.0.0.1:9/rp/callback".into()),
                (
                    "SCOPE",
                    "openid profile email member roles offline_access".into(),
                ),
                ("EXPECT_PREFERRED_USERNAME", "asa.oberg".into()),
                ("EXPECT_NAME", "Åsa Öberg".into()),
                ("EXPECT_ROLES", "member,cashier".into()),
                ("EXPECT_MEMBER_NUMBER", "00001".into()),
                ("EXPECT_LOCALE", "sv".into()),
                ("EXPECT_REFRESH_ROTATION", "1".into()),
                ("EXPECT_REUSE_REVOKES_FAMILY", "1".into()),
            ]),
        );
    }
    run_harness(
        "authlib metadata",
        &python,
        "authlib_metadata.py",
        &common(&[("REQUIRE_S256_ONLY", "1".into())]),
    );
    run_harness(
        "Synapse SSO",
        &python,
        "synapse_sso.py",
        &common(&[
            ("CLIENT_ID", "synapse".into()),
            (
                "CLIENT_SECRET_FILE",
                s.synapse_secret_file.display().to_string(),
            ),
            ("SYNAPSE_PORT", s.synapse_port.to_string()),
            ("EXPECT_LOCALPART", "asa.oberg".into()),
            ("EXPECT_DISPLAYNAME", "Åsa Öberg".into()),
            // Last: the member is suspended, and Synapse ends their sessions through
            // back-channel logout (their access tokens stop working).
            ("BACKCHANNEL_LOGOUT", "1".into()),
            (
                "SUSPEND_CMD",
                format!(
                    "{} member-status --config {} --email asa@example.org --change suspend",
                    env!("CARGO_BIN_EXE_coop-sso"),
                    dir.path().join("cooperage.json").display()
                ),
            ),
        ]),
    );
}
