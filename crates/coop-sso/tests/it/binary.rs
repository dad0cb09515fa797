//! The real `coop-sso` binary for the tests that drive it from outside (third-party relying
//! parties, a browser), through the kit's harness: a socket handed over, no port race.
#![allow(dead_code)]

use std::path::Path;

pub use coop_testkit::binary::ServiceBinary as Binary;
pub use coop_testkit::repo::{root as repo, setup};

/// A free loopback port, for third-party servers (Synapse) that bind their own.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// coop-sso on a fresh database with the test config, changed by `configure`; ready to use.
pub async fn start(dir: &Path, configure: impl FnOnce(&mut serde_json::Value)) -> Binary {
    coop_testkit::binary::start(
        Path::new(env!("CARGO_BIN_EXE_coop-sso")),
        "sso",
        dir,
        configure,
    )
    .await
}
