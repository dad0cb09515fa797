//! The checkout the tests run from, and the harnesses in it that need npm or PyPI software
//! (`tests/interop`, `tests/browser`): each has an idempotent `setup.sh`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The checkout's root folder.
pub fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    here.canonicalize().unwrap_or(here)
}

/// Where `cargo` puts builds: `CARGO_TARGET_DIR` or the checkout's `target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// Runs a harness's `setup.sh` (relative to the root), failing the test with `hint` when it
/// cannot. Each script runs at most once per test process.
pub fn setup(script: &str, hint: &str) {
    static DONE: OnceLock<std::sync::Mutex<Vec<String>>> = OnceLock::new();
    let done = DONE.get_or_init(Default::default);
    let mut done = done
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if done.iter().any(|d| d == script) {
        return;
    }
    let status = Command::new("bash")
        .arg(root().join(script))
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    assert!(status.success(), "{script} failed: {hint}");
    done.push(script.to_owned());
}

/// The interop harness's Python (a venv with aiosmtpd, Synapse, authlib), set up first.
pub fn venv_python() -> PathBuf {
    setup(
        "tests/interop/setup.sh",
        "python3-venv and npm are needed (`cargo xtask test` installs them)",
    );
    let python = root().join("tests/interop/.venv/bin/python");
    assert!(python.is_file(), "{} is missing", python.display());
    python
}
