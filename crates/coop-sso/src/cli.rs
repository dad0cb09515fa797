//! The command line: the kit's `serve`, `migrate`, `check-config`, plus directory chores.

use anyhow::Context as _;
use coop_web::cli::{ConfigArg, KitCommand};

use crate::domain::{MemberStatus, Role};
use crate::members::{self, NewMember};
use crate::Sso;

#[derive(Debug, clap::Parser)]
#[command(
    name = "coop-sso",
    version,
    about = "The co-op's sign-in service and member directory"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    #[command(flatten)]
    Kit(KitCommand),
    /// Create (or refresh) the demo members with new random passwords and print them. Only for
    /// `cargo xtask demo`; never on a real co-op's server.
    DemoSeed(ConfigArg),
    /// Create the first admin as an invited member (roles member and admin) and print the
    /// invite link. Refused once an active admin exists: invite further admins from /admin.
    BootstrapAdmin(BootstrapAdminArgs),
    /// Make a new signing key current. The old key stays published until its tokens have
    /// expired; restart the service to start signing with the new one.
    RotateKeys(ConfigArg),
    /// Suspend a member, mark them as left, or reactivate them, from the command line (audited
    /// as done by the operator). Suspending and leaving sign the member out everywhere, the
    /// relying parties included (back-channel logout, sent by the running service).
    MemberStatus(MemberStatusArgs),
    /// Pair a till from the server's console: the code the till shows and the name it gets
    /// (audited as done by the operator). Managers pair tills at /device; this is for the
    /// first till, or a co-op's demo.
    PairTill(PairTillArgs),
    /// End a till's pairing (a till that broke, was replaced or lost): its tokens stop working
    /// at once and it can no longer upload (audited as done by the operator). Without --till,
    /// lists the paired tills with their ids.
    UnpairTill(UnpairTillArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct UnpairTillArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The till's id (as listed, and as central's tills page shows it).
    #[arg(long)]
    pub till: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct PairTillArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The code on the till's screen (`BCDF-GHJK`).
    #[arg(long)]
    pub code: String,
    /// The till's name, as managers will see it ("Kassa 1").
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct MemberStatusArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The member's email address.
    #[arg(long)]
    pub email: String,
    /// `suspend`, `leave` or `reactivate`.
    #[arg(long)]
    pub change: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BootstrapAdminArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The first admin's email address; the invite link is printed, not mailed.
    #[arg(long)]
    pub email: String,
    /// The first admin's name.
    #[arg(long)]
    pub name: String,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Kit(cmd) => coop_web::cli::run::<Sso>(cmd).await,
        Command::DemoSeed(arg) => demo_seed(&arg).await,
        Command::BootstrapAdmin(args) => bootstrap_admin(&args).await,
        Command::RotateKeys(arg) => rotate_keys(&arg).await,
        Command::MemberStatus(args) => member_status(&args).await,
        Command::PairTill(args) => pair_till(&args).await,
        Command::UnpairTill(args) => unpair_till(&args).await,
    }
}

async fn unpair_till(args: &UnpairTillArgs) -> anyhow::Result<()> {
    let loaded = coop_web::cli::load::<Sso>(&args.config.config)?;
    let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
    let Some(till) = args.till else {
        let rows = sqlx::query!(
            "select till_device_id, name, paired_at from till_device
             where revoked_at is null order by paired_at"
        )
        .fetch_all(&db)
        .await?;
        if rows.is_empty() {
            eprintln!("No till is paired.");
        }
        for r in rows {
            println!(
                "{}  {}  (paired {})",
                r.till_device_id,
                r.name,
                r.paired_at.format("%Y-%m-%d")
            );
        }
        return Ok(());
    };
    let now = chrono::Utc::now();
    let mut tx = db.begin().await?;
    let name = sqlx::query_scalar!(
        "update till_device set revoked_at = $2 where till_device_id = $1 and revoked_at is null
         returning name",
        till,
        now
    )
    .fetch_optional(&mut *tx)
    .await?
    .with_context(|| {
        format!("no paired till has the id {till} (run without --till to list them)")
    })?;
    let families = sqlx::query!(
        "update token_family set revoked_at = $2, revoke_reason = 'till unpaired'
         where till_device_id = $1 and revoked_at is null",
        till,
        now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    members::audit(
        &mut tx,
        None,
        None,
        crate::domain::AuditAction::TillUnpaired,
        serde_json::json!({ "till": till, "name": name, "from": "console" }),
    )
    .await?;
    tx.commit().await?;
    eprintln!(
        "{name} is unpaired: it can no longer renew its tokens ({families} pairing ended), and the last one it holds expires within ten minutes. Pair its replacement at /device."
    );
    Ok(())
}

async fn pair_till(args: &PairTillArgs) -> anyhow::Result<()> {
    use crate::http::oidc::device::{normalise_user_code, ALPHABET};
    let code = normalise_user_code(&args.code);
    if code.len() != 8 || !code.bytes().all(|b| ALPHABET.contains(&b)) {
        anyhow::bail!("--code: the till shows eight letters, like BCDF-GHJK");
    }
    let name = args.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        anyhow::bail!("--name: give the till a name of 1 to 100 characters");
    }
    let loaded = coop_web::cli::load::<Sso>(&args.config.config)?;
    let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
    let now = chrono::Utc::now();
    let mut tx = db.begin().await?;
    let pending = crate::devices::lock_pending(&mut tx, &code, now)
        .await?
        .context(
            "no till is waiting with that code (it may have expired: the till shows a new one)",
        )?;
    let till = uuid::Uuid::new_v4();
    crate::devices::approve(&mut tx, &pending.device_code_hash, till, name, None, now).await?;
    members::audit(
        &mut tx,
        None,
        None,
        crate::domain::AuditAction::TillPaired,
        serde_json::json!({ "till": till, "name": name, "from": "console" }),
    )
    .await?;
    tx.commit().await?;
    eprintln!("The till is paired as {name}; it starts within a few seconds.");
    println!("{till}");
    Ok(())
}

async fn member_status(args: &MemberStatusArgs) -> anyhow::Result<()> {
    let change = crate::directory::StatusChange::parse(&args.change).with_context(|| {
        format!(
            "--change `{}`: expected suspend, leave or reactivate",
            args.change
        )
    })?;
    let loaded = coop_web::cli::load::<Sso>(&args.config.config)?;
    let email = coop_domain::EmailAddress::parse_account(&args.email)
        .map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
    let member = members::find_by_email(&db, &email)
        .await?
        .with_context(|| format!("no member with the address {}", email.as_str()))?;
    let to = crate::directory::change_status(
        &db,
        &loaded.coop.member_number,
        None,
        member.member_id,
        change,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{} is now {}", email.as_str(), to.as_str());
    Ok(())
}

const DEMO_MEMBERS: &[(&str, &str, &[Role])] = &[
    (
        "Alva Andersson",
        "alva@demo.coop",
        &[Role::Member, Role::Admin],
    ),
    ("Bo Berg", "bo@demo.coop", &[Role::Member, Role::Bookkeeper]),
    (
        "Cecilia Ek",
        "cecilia@demo.coop",
        &[Role::Member, Role::Cashier, Role::Manager],
    ),
    ("David Lind", "david@demo.coop", &[Role::Member]),
];

async fn demo_seed(arg: &ConfigArg) -> anyhow::Result<()> {
    let loaded = coop_web::cli::load::<Sso>(&arg.config)?;
    let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
    coop_web::db::migrate(&db, &crate::MIGRATOR).await?;
    for (name, email, roles) in DEMO_MEMBERS {
        let email = coop_domain::EmailAddress::parse(email).context("demo email")?;
        let password = coop_web::session::random_token()[..16].to_owned();
        let hash = crate::password::hash(password.clone()).await?;
        match members::find_by_email(&db, &email).await? {
            Some(m) => members::set_password(&db, m.member_id, &hash, None).await?,
            None => {
                members::create(
                    &db,
                    &loaded.coop.member_number,
                    NewMember {
                        name: (*name).to_owned(),
                        email: email.clone(),
                        preferred_lang: loaded.coop.default_lang,
                        roles: roles.to_vec(),
                        status: MemberStatus::Active,
                        password_hash: Some(hash),
                    },
                    None,
                )
                .await?;
            }
        }
        let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        println!("{:<20} {password}   ({})", email.as_str(), roles.join(", "));
    }
    Ok(())
}

async fn bootstrap_admin(args: &BootstrapAdminArgs) -> anyhow::Result<()> {
    let loaded = coop_web::cli::load::<Sso>(&args.config.config)?;
    let email = coop_domain::EmailAddress::parse_account(&args.email)
        .map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let name = args.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        anyhow::bail!("--name: give a name of 1 to 200 characters");
    }
    let issuer = loaded
        .coop
        .issuer()
        .context("the config has no services.sso section")?;
    let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
    coop_web::db::migrate(&db, &crate::MIGRATOR).await?;
    let token = crate::directory::bootstrap_admin(
        &db,
        &loaded.coop.member_number,
        email,
        name.to_owned(),
        loaded.coop.default_lang,
        chrono::Utc::now(),
    )
    .await?;
    eprintln!("Open this link within 7 days to choose the admin's password (it works once):");
    println!("{issuer}/invite/{token}");
    Ok(())
}

async fn rotate_keys(arg: &ConfigArg) -> anyhow::Result<()> {
    let loaded = coop_web::cli::load::<Sso>(&arg.config)?;
    let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
    coop_web::db::migrate(&db, &crate::MIGRATOR).await?;
    let now = chrono::Utc::now();
    let sealer = std::sync::Arc::new(crate::load_sealer(&loaded)?);
    let keys = crate::keys::KeyStore::load(&db, now, sealer).await?;
    let kid = keys.rotate(&db, now).await?;
    eprintln!("New signing key is current; restart coop-sso to sign with it. The old key stays published for a while.");
    println!("{kid}");
    Ok(())
}
