use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = coop_sso::cli::Cli::parse();
    match coop_sso::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coop-sso: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
