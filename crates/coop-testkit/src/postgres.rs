//! A private PostgreSQL cluster, started once per test binary.
//!
//! Server binaries are looked up in `$COOP_PG_BIN`, on `PATH`, then in
//! `/usr/lib/postgresql/<newest>/bin`. PostgreSQL refuses to run as root, so as root the
//! cluster runs as the `postgres` account through `runuser`. The cluster listens only on a Unix
//! socket inside its own directory. A detached reaper process stops it and deletes the directory
//! as soon as the test process is gone, however it ended.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{bail, Context as _};
use sqlx::{Connection as _, Executor as _, PgConnection};

#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    /// `postgres://postgres@localhost/postgres?host=<dir>&port=5432`
    pub admin_url: String,
}

impl Cluster {
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// Restarts the server as its service manager would (`pg_ctl restart -m fast`: sessions
    /// are ended, everything committed is kept), with the options it was started with.
    ///
    /// # Panics
    /// When it does not come back.
    pub fn restart(&self) {
        let bin = find_bin_dir().expect("the PostgreSQL binaries");
        let out = run_as_server_user(is_root(), &bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-m", "fast", "-w", "-t", "60", "restart"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .expect("running pg_ctl restart");
        assert!(
            out.status.success(),
            "pg_ctl restart failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A URL for a database of this cluster.
    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost/{database}?host={}&port=5432",
            self.dir.display()
        )
    }
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The test binary's cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(|| start().map_err(|e| format!("{e:#}"))) {
        Ok(c) => c,
        Err(e) => panic!("cannot start the test PostgreSQL cluster: {e}"),
    }
}

/// Whether we run as root: `/proc/self` belongs to the process's effective user.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// Finds a PostgreSQL server binary directory.
pub fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("COOP_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let initdb = dir.join("initdb");
            if initdb.is_file() && dir.join("pg_ctl").is_file() {
                // Debian links /usr/local/bin/initdb into /usr/lib/postgresql/N/bin.
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

fn run_as_server_user(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start() -> anyhow::Result<Cluster> {
    let bin = find_bin_dir().context(
        "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH, in $COOP_PG_BIN or in \
         /usr/lib/postgresql/*/bin; run `cargo xtask test`, which installs them, or \
         `apt-get install postgresql`",
    )?;
    let root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("coop-test-pg-")
        .tempdir()
        .context("creating the cluster directory")?
        .keep();
    if root {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .context("chown of the cluster directory to postgres")?;
        if !status.success() {
            bail!(
                "chown postgres {} failed: does the `postgres` account exist?",
                dir.display()
            );
        }
    }
    // The reaper first, so even a failed start is cleaned up.
    spawn_reaper(&bin, &dir, root)?;

    let data = dir.join("data");
    let out = run_as_server_user(root, &bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .stdin(Stdio::null())
        .output()
        .context("running initdb")?;
    if !out.status.success() {
        bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    // Durability is pointless for a throw-away cluster; speed is not.
    let opts = format!(
        "-c listen_addresses='' -c unix_socket_directories='{}' -c port=5432 -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
         -c shared_buffers=64MB",
        dir.display()
    );
    let out = run_as_server_user(root, &bin.join("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(dir.join("server.log"))
        .args(["-o", &opts, "-w", "-t", "60", "start"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .context("running pg_ctl start")?;
    if !out.status.success() {
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        bail!(
            "pg_ctl start failed: {}\n{log}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let admin_url = format!(
        "postgres://postgres@localhost/postgres?host={}&port=5432",
        dir.display()
    );
    Ok(Cluster { dir, admin_url })
}

/// A detached watcher: when this process is gone, stop the server and remove its directory.
fn spawn_reaper(bin: &Path, dir: &Path, root: bool) -> anyhow::Result<()> {
    let pid = std::process::id();
    let as_user = if root { "runuser -u postgres -- " } else { "" };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.3; done; \
         {as_user}'{}' -D '{}/data' -m immediate stop >/dev/null 2>&1; rm -rf '{}'",
        bin.join("pg_ctl").display(),
        dir.display(),
        dir.display()
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the cluster reaper (setsid sh)")?;
    Ok(())
}

/// A database created for one test.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub name: String,
    pub url: String,
}

/// Creates an empty database with a unique name in the test binary's cluster.
pub async fn fresh_database() -> TestDb {
    let cluster = cluster();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&cluster.admin_url)
        .await
        .expect("connecting to the test cluster");
    conn.execute(format!("create database {name}").as_str())
        .await
        .expect("creating a test database");
    TestDb {
        url: cluster.url_for(&name),
        name,
    }
}

/// A fresh database with `migrator`'s migrations applied, and a pool on it.
pub async fn migrated_database(migrator: &sqlx::migrate::Migrator) -> (TestDb, sqlx::PgPool) {
    let db = fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(5)
        .connect(&db.url)
        .await
        .expect("connecting to the test database");
    migrator.run(&pool).await.expect("applying migrations");
    (db, pool)
}
