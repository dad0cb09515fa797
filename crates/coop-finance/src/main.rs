use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = coop_finance::cli::Cli::parse();
    match coop_finance::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coop-finance: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
