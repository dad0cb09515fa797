use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = coop_buyers_club::cli::Cli::parse();
    match coop_buyers_club::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coop-buyers-club: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
