//! `cargo xtask sqlx prepare|check`: the offline data of the SQL checked at compile time.
//!
//! Every query goes through `sqlx::query!` and friends, which check it against a real schema
//! when the crate is built: online when `DATABASE_URL` is set, otherwise from the crate's
//! committed `.sqlx/` folder. This command makes that folder (`prepare`) or checks it is current
//! (`check`, run by `cargo xtask test`), with no sqlx-cli and no server of your own: it uses the
//! demo's private PostgreSQL cluster, gives each crate with migrations a fresh database with the
//! kit's migrations and its own, and rebuilds the crate against it with `SQLX_OFFLINE_DIR` set,
//! which makes sqlx write one file per query.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _};

use crate::demo::{checkout_cluster, Pg};
use crate::prereq::{self, run_cmd};

/// The kit's migrations, which every service runs before its own.
const KIT: &str = "crates/coop-web";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let check = match args.first().map(String::as_str) {
        Some("check") => true,
        Some("prepare") => false,
        _ => bail!("usage: cargo xtask sqlx prepare|check"),
    };
    let root = prereq::repo_root();
    let (pg, home) = checkout_cluster(&root)?;
    let was_running = pg.running();
    pg.start(&home.join("log/server.log"))?;
    let result = each_crate(&root, &pg, check);
    if !was_running {
        pg.stop();
    }
    result
}

/// The crates that have migrations: each gets a database of its own. The kit comes first, so
/// that building a service afterwards does not build the kit again (its queries would land in
/// the service's folder).
fn crates_with_migrations(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("migrations").is_dir() && p.join("Cargo.toml").is_file())
        .collect();
    let kit = root.join(KIT);
    out.sort_by_key(|p| (*p != kit, p.clone()));
    Ok(out)
}

fn each_crate(root: &Path, pg: &Pg, check: bool) -> anyhow::Result<()> {
    let mut stale = Vec::new();
    for dir in crates_with_migrations(root)? {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .context("a crate folder's name")?
            .to_owned();
        let db = format!("sqlx_{}", name.replace('-', "_"));
        recreate_database(pg, &db)?;
        let mut migration_dirs = vec![root.join(KIT).join("migrations")];
        if dir != root.join(KIT) {
            migration_dirs.push(dir.join("migrations"));
        }
        for m in &migration_dirs {
            apply_migrations(pg, &db, m)?;
        }
        let out = root.join("target/sqlx-prepare").join(&name);
        if out.exists() {
            std::fs::remove_dir_all(&out)?;
        }
        std::fs::create_dir_all(&out)?;
        // sqlx reads DATABASE_URL when the macros run, which cargo does not track: make the
        // crate (and what depends on it) build again.
        let lib = dir.join("src/lib.rs");
        std::fs::File::options()
            .append(true)
            .open(&lib)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()))
            .with_context(|| format!("touching {}", lib.display()))?;
        eprintln!("xtask: sqlx: building {name} against its schema");
        run_cmd(
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(root)
                .args([
                    "check",
                    "--quiet",
                    "--all-targets",
                    "--all-features",
                    "-p",
                    &name,
                ])
                .env("DATABASE_URL", pg.url(&db))
                .env("SQLX_OFFLINE", "false")
                .env("SQLX_OFFLINE_DIR", &out),
        )?;
        let committed = dir.join(".sqlx");
        let differences = compare(&out, &committed)?;
        if check {
            if !differences.is_empty() {
                for d in &differences {
                    eprintln!("xtask: sqlx: {name}: {d}");
                }
                stale.push(name);
            }
        } else {
            if committed.exists() {
                std::fs::remove_dir_all(&committed)?;
            }
            if std::fs::read_dir(&out)?.next().is_some() {
                copy_dir(&out, &committed)?;
            }
            eprintln!(
                "xtask: sqlx: {name}: {} queries in {}",
                std::fs::read_dir(&committed).map_or(0, Iterator::count),
                committed.display()
            );
        }
    }
    if stale.is_empty() {
        if check {
            eprintln!("xtask: sqlx: the offline query data is current");
        }
        Ok(())
    } else {
        bail!(
            "the offline query data of {} is out of date: run `cargo xtask sqlx prepare` and commit .sqlx/",
            stale.join(", ")
        )
    }
}

fn recreate_database(pg: &Pg, db: &str) -> anyhow::Result<()> {
    run_cmd(
        pg.cmd("dropdb")
            .arg("-h")
            .arg(&pg.socket)
            .args(["-p", "5432", "-U", "postgres", "--if-exists", db])
            .env("PGOPTIONS", "-c client_min_messages=warning"),
    )?;
    pg.create_database(db)
}

/// Applies a folder's migrations in version order, each in one transaction, as sqlx does. The
/// SQL goes through stdin: as root, psql runs as `postgres`, which may not read the checkout.
fn apply_migrations(pg: &Pg, db: &str, dir: &Path) -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('_').next())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(i64::MAX)
    });
    for file in files {
        let sql = std::fs::read(&file)?;
        let mut child = pg
            .cmd("psql")
            .arg("-h")
            .arg(&pg.socket)
            .args(["-p", "5432", "-U", "postgres", "-d", db])
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "-f",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .context("running psql")?;
        child
            .stdin
            .take()
            .context("psql's stdin")?
            .write_all(&sql)?;
        let status = child.wait()?;
        if !status.success() {
            bail!("applying {} failed", file.display());
        }
    }
    Ok(())
}

/// What differs between the freshly made data and the committed data.
fn compare(fresh: &Path, committed: &Path) -> anyhow::Result<Vec<String>> {
    let list = |dir: &Path| -> anyhow::Result<Vec<String>> {
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| Path::new(n).extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        Ok(names)
    };
    let (a, b) = (list(fresh)?, list(committed)?);
    let mut out = Vec::new();
    for n in &a {
        if !b.contains(n) {
            out.push(format!(
                "{n} is missing from .sqlx/ (a new or changed query)"
            ));
        } else if std::fs::read(fresh.join(n))? != std::fs::read(committed.join(n))? {
            out.push(format!("{n} differs (the schema changed under the query)"));
        }
    }
    for n in &b {
        if !a.contains(n) {
            out.push(format!("{n} in .sqlx/ belongs to no query any more"));
        }
    }
    Ok(out)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        std::fs::copy(e.path(), to.join(e.file_name()))?;
    }
    Ok(())
}
