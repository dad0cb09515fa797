use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = coop_ims::cli::Cli::parse();
    match coop_ims::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coop-ims: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
