//! `cargo xtask test`: every test, with what it needs installed first.

use std::process::Command;

use anyhow::bail;

use crate::anywhere;
use crate::prereq::{self, run_cmd};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (ours, cargo_args) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], Some(&args[i + 1..])),
        None => (args, None),
    };
    let quick = ours.iter().any(|a| a == "--quick");
    if let Some(unknown) = ours.iter().find(|a| a.as_str() != "--quick") {
        bail!("unknown option {unknown}; see `cargo xtask --help`");
    }
    let root = prereq::repo_root();
    let pg = prereq::ensure_postgres()?;
    eprintln!("xtask: PostgreSQL server binaries in {}", pg.display());

    // `cargo xtask test -- ARGS`: just those Rust tests, with PostgreSQL at hand.
    if let Some(cargo_args) = cargo_args {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .current_dir(&root)
            .arg("test")
            .args(cargo_args)
            .env("COOP_PG_BIN", &pg);
        return run_cmd(&mut cargo);
    }

    // Debian's node, npm, python3-venv, poppler-utils (pdftotext) and socat (a scale's serial line) for the harnesses; their npm and PyPI packages are
    // installed only after the tests that must pass without them.
    let interop_setup = root.join("tests/interop/setup.sh");
    if interop_setup.is_file() {
        for (tool, package) in [
            ("npm", "npm"),
            ("python3", "python3-venv"),
            ("pdftotext", "poppler-utils"),
            ("socat", "socat"),
        ] {
            if !prereq::on_path(tool) {
                prereq::apt_install(&[package], "the interop tests")?;
            }
        }
        if std::process::Command::new("python3")
            .args(["-c", "import venv, ensurepip"])
            .status()
            .is_ok_and(|s| !s.success())
        {
            prereq::apt_install(&["python3-venv"], "the interop tests")?;
        }
    }
    let cargo_cmd = || {
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.current_dir(&root).env("COOP_PG_BIN", &pg);
        c
    };

    let mut steps: Vec<(&str, Command)> = Vec::new();
    // First the tests as plain `cargo test` runs them: on a fresh clone nothing from npm or PyPI
    // is installed yet, so this proves they pass without it.
    let mut plain = cargo_cmd();
    plain.args(["test", "--workspace", "--no-fail-fast"]);
    steps.push((
        "Rust tests (plain cargo test, no npm or PyPI packages needed)",
        plain,
    ));
    if interop_setup.is_file() {
        let mut c = Command::new("bash");
        c.arg(&interop_setup).current_dir(&root);
        steps.push(("install the interop harness (npm, PyPI)", c));
    }
    // Chromium (Debian's) and axe-core for the accessibility checks.
    let browser_setup = root.join("tests/browser/setup.sh");
    if browser_setup.is_file() {
        let mut c = Command::new("bash");
        c.arg(&browser_setup).current_dir(&root);
        steps.push(("install the browser harness (Chromium, npm)", c));
    }
    // Then the tests behind each crate's `interop` feature; every one of them is named
    // `external_…` (docs/development.md), so the filter runs exactly those.
    let mut external = cargo_cmd();
    external.args([
        "test",
        "--workspace",
        "--all-features",
        "--no-fail-fast",
        "--",
        "external_",
    ]);
    steps.push((
        "Rust tests that drive npm and PyPI software (external_*)",
        external,
    ));

    if !quick {
        let mut sqlx = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        sqlx.current_dir(&root).args(["xtask", "sqlx", "check"]);
        steps.push(("the SQL offline data is current", sqlx));

        let mut demo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        demo.current_dir(&root).args(["xtask", "demo", "--check"]);
        steps.push(("demo starts and answers", demo));

        steps.push(("both commands from a private folder", anywhere::command()));

        let interop = root.join("tests/interop/selftest.sh");
        if interop.is_file() {
            let mut c = Command::new("bash");
            c.arg(interop).current_dir(&root);
            steps.push((
                "interop harness self-test (openid-client, authlib, Synapse)",
                c,
            ));
        }

        let nix_checks = root.join("tests/nix/run.sh");
        if nix_checks.is_file() {
            if !prereq::on_path("nix-instantiate") {
                prereq::apt_install(&["nix-bin"], "the Nix module checks")?;
            }
            let mut c = Command::new("bash");
            c.arg(nix_checks).current_dir(&root);
            steps.push(("Nix module checks", c));
        }
    }

    let mut failed = Vec::new();
    for (name, mut cmd) in steps {
        eprintln!("xtask: == {name} ==");
        let (result, tail) = run_step(&mut cmd);
        if let Err(e) = result {
            eprintln!("xtask: {name} failed: {e:#}");
            failed.push((name, format!("{e:#}"), tail));
        }
    }
    if failed.is_empty() {
        eprintln!("xtask: every test passed");
        Ok(())
    } else {
        // Again at the end, with each failed step's last lines: a CI log is often read from
        // its tail only.
        for (name, error, tail) in &failed {
            eprintln!("\nxtask: == {name}: FAILED ({error}); its last lines:");
            for line in tail {
                eprintln!("  | {line}");
            }
        }
        let names: Vec<&str> = failed.iter().map(|(n, _, _)| *n).collect();
        bail!("failed: {}", names.join(", "))
    }
}

/// How many of a step's last lines are kept to show again if it fails.
const TAIL_LINES: usize = 40;

/// Runs one step, passing its output through as it comes and keeping its last lines.
fn run_step(cmd: &mut Command) -> (anyhow::Result<()>, Vec<String>) {
    use std::io::{BufRead as _, Write as _};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let mut child = match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => return (Err(anyhow::anyhow!("starting {cmd:?}: {e}")), Vec::new()),
    };
    let (tx, rx) = mpsc::channel::<String>();
    let out = child.stdout.take().map(|o| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(o).lines().map_while(Result::ok) {
                let _ = writeln!(std::io::stdout(), "{line}");
                let _ = tx.send(line);
            }
        })
    });
    let err = child.stderr.take().map(|e| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(e).lines().map_while(Result::ok) {
                let _ = writeln!(std::io::stderr(), "{line}");
                let _ = tx.send(line);
            }
        })
    });
    drop(tx);
    let mut tail = std::collections::VecDeque::with_capacity(TAIL_LINES);
    let keep = |line: String, tail: &mut std::collections::VecDeque<String>| {
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    };
    // Collect while the step runs, then for a moment after it ends: a process it left behind
    // may hold the pipes open, and is not waited for.
    let status = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => keep(line, &mut tail),
            Err(mpsc::RecvTimeoutError::Disconnected) => break child.wait(),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(s)) = child.try_wait() {
                    break Ok(s);
                }
            }
        }
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => keep(line, &mut tail),
            Err(_) => break,
        }
    }
    for t in [out, err].into_iter().flatten() {
        if t.is_finished() {
            let _ = t.join();
        }
    }
    let result = match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(anyhow::anyhow!("{:?} failed ({s})", cmd.get_program())),
        Err(e) => Err(anyhow::anyhow!("waiting for {:?}: {e}", cmd.get_program())),
    };
    (result, tail.into())
}
