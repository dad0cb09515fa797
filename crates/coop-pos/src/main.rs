use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = coop_pos::cli::Cli::parse();
    match coop_pos::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coop-pos: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
