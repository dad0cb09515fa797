//! Tests that run part of themselves in a child process, to kill it at a bad moment.
//!
//! The parent re-runs its own test binary, naming one ignored test that does the child's work
//! and passing what it needs in the environment; the child test does nothing unless that
//! environment is there.

use std::process::{Child, Command, Stdio};

/// The variable that marks a child run.
pub const CHILD_VAR: &str = "COOP_TEST_CHILD";

/// The test's name as the harness knows it, from its module path (the first segment, the
/// crate, is not part of it) and its function name.
pub fn test_name(module_path: &str, function: &str) -> String {
    match module_path.split_once("::") {
        Some((_, rest)) => format!("{rest}::{function}"),
        None => function.to_owned(),
    }
}

/// Starts this test binary again, running only the ignored test `name`, with `env` set.
pub fn spawn_test(name: &str, env: &[(&str, &str)]) -> Child {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(exe);
    cmd.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_VAR, name)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("starting the child test")
}

/// Inside a child run of the test `name`: the value of `var`. `None` when this is no child run
/// of that test (the ignored test was run by hand), which should then return at once.
pub fn child_env(name: &str, var: &str) -> Option<String> {
    (std::env::var(CHILD_VAR).ok()? == name)
        .then(|| std::env::var(var).ok())
        .flatten()
}
