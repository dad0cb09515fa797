//! Finding, and where possible installing, what the commands need.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

/// The checkout `cargo xtask` was run in: the nearest folder above the working directory with
/// `xtask/Cargo.toml`. Not the path compiled into the binary: two checkouts sharing one
/// `CARGO_TARGET_DIR` share `target/debug/xtask` too, and cargo does not copy a fresh build
/// there again, so the binary may have been built in the other checkout.
pub fn repo_root() -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            cwd.ancestors()
                .find(|d| d.join("xtask/Cargo.toml").is_file() && d.join("Cargo.toml").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("xtask lives in the repository")
                .to_path_buf()
        })
}

pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// The directory with `initdb`, `pg_ctl` and `postgres`, the same search as the test kit.
pub fn pg_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("COOP_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let initdb = dir.join("initdb");
            if initdb.is_file() && dir.join("pg_ctl").is_file() {
                let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
                return real.parent().map(Path::to_path_buf);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// Installs Debian packages, or says precisely why it cannot.
pub fn apt_install(packages: &[&str], why: &str) -> anyhow::Result<()> {
    if !on_path("apt-get") {
        bail!(
            "{why} needs {}, and this machine has no apt-get. Install them with your package \
             manager, or use `nix develop`, then run the command again.",
            packages.join(" ")
        );
    }
    if !is_root() {
        bail!(
            "{why} needs {}. Run this command as root once so it can install them, or run \
             `sudo apt-get install {}` yourself.",
            packages.join(" "),
            packages.join(" ")
        );
    }
    eprintln!("xtask: installing {} ({why})", packages.join(" "));
    let stamp = Path::new("/var/lib/apt/lists/lock");
    let fresh = std::fs::metadata(stamp)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|e| e.as_secs() < 6 * 3600));
    if !fresh {
        run_cmd(
            Command::new("apt-get")
                .args(["update", "-q"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// The PostgreSQL server binaries, installed from Debian when absent.
pub fn ensure_postgres() -> anyhow::Result<PathBuf> {
    if let Some(dir) = pg_bin_dir() {
        if !is_root() || account_exists("postgres") {
            return Ok(dir);
        }
    }
    apt_install(
        &["postgresql", "postgresql-client"],
        "a private PostgreSQL cluster",
    )?;
    pg_bin_dir().context("PostgreSQL was installed but initdb is not in /usr/lib/postgresql/*/bin")
}

pub fn account_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/passwd")
        .is_ok_and(|p| p.lines().any(|l| l.split(':').next() == Some(name)))
}

/// Runs a command, failing with its name and status.
pub fn run_cmd(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{:?} failed ({status})", cmd.get_program());
    }
    Ok(())
}
