//! The browser pass: Debian's headless Chromium driven by `tests/browser/a11y.mjs`
//! (playwright-core), which visits each step of a plan, scans every page with axe-core, checks
//! the house rules axe does not know (language, one h1, skip link, names of controls, the
//! error summary, keyboard reach) and photographs it. See `tests/browser/README.md` for the
//! plan's steps.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

use crate::repo;

/// Chromium and the npm packages, installed on first use.
pub fn setup() {
    repo::setup(
        "tests/browser/setup.sh",
        "node >= 20 with npm is needed, and /usr/bin/chromium (installed by it when run as root)",
    );
}

/// Where a service's screenshots go: `COOP_SCREENSHOT_DIR`, else `target/screenshots/<service>`.
pub fn screenshot_dir(service: &str) -> PathBuf {
    std::env::var_os("COOP_SCREENSHOT_DIR").map_or_else(
        || repo::target_dir().join("screenshots").join(service),
        PathBuf::from,
    )
}

/// One check in a plan: the page now shown is scanned and photographed as `name`.
pub fn check(name: &str, lang: &str, extra: Value) -> Value {
    let mut step = json!({ "check": format!("{name} ({lang})"), "lang": lang,
                           "screenshot": format!("{}-{lang}.png", name.replace([' ', ','], "-")) });
    if let (Some(step), Value::Object(extra)) = (step.as_object_mut(), extra) {
        step.extend(extra);
    }
    step
}

/// Runs `sessions` against `base_url` at desktop and phone width, light and dark, and fails the
/// test on any violation; returns how many checks passed.
pub fn run(service: &str, base_url: &str, sessions: Vec<Value>) -> u32 {
    run_across(service, base_url, &[], sessions)
}

/// [`run`] over several services at once (the whole suite, signing in through coop-sso): pages
/// may load from `origins` besides `base_url`'s.
pub fn run_across(service: &str, base_url: &str, origins: &[&str], sessions: Vec<Value>) -> u32 {
    setup();
    let screenshots = screenshot_dir(service);
    let plan = json!({
        "base_url": base_url,
        "origins": origins,
        "screenshot_dir": screenshots,
        // Dark mode changes the colours, so contrast is checked in both schemes.
        "color_schemes": ["light", "dark"],
        // A desktop and a phone: each page is scanned and photographed at both widths.
        "viewports": [
            { "name": "desktop", "width": 1024, "height": 768 },
            { "name": "phone", "width": 375, "height": 740 },
        ],
        "sessions": sessions,
    });
    let dir = tempfile::tempdir().expect("a folder for the plan");
    let plan_path = dir.path().join("plan.json");
    std::fs::write(
        &plan_path,
        serde_json::to_string_pretty(&plan).expect("JSON"),
    )
    .expect("writing the plan");
    let out = Command::new("node")
        .arg(repo::root().join("tests/browser/a11y.mjs"))
        .arg(&plan_path)
        .current_dir(repo::root())
        .output()
        .expect("running node tests/browser/a11y.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!(
        "--- browser checks (screenshots in {})\n{stdout}{}",
        screenshots.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser checks failed:\n{stdout}");
    let passed = stdout
        .lines()
        .find_map(|l| l.split_once(" passed, 0 failed"))
        .and_then(|(n, _)| n.trim().parse::<u32>().ok());
    passed
        .filter(|n| *n > 0)
        .expect("the browser checks printed no summary of passed checks")
}
