//! `cargo xtask demo` starts the whole suite locally with demo data on a private PostgreSQL
//! cluster under `.demo/`; `cargo xtask test` runs every test, installing what is missing.

mod demo;
mod prereq;
mod supervise;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo    build and start the whole suite locally with demo data (Ctrl-C stops it)
  test    run every test, installing what is missing (PostgreSQL server, test tools)
          options: --quick  only the Rust tests (no interop, browser or Nix checks)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}
