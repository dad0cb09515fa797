//! `cargo xtask demo` starts the whole suite locally with demo data on a private PostgreSQL
//! cluster of this checkout's own; `cargo xtask test` runs every test, installing what is missing.
//! `cargo xtask bench` runs every benchmark and prints one table of figures and references.

mod anywhere;
mod bench;
mod demo;
mod prereq;
mod sqlx;
mod supervise;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo    build and start the whole suite locally with demo data (Ctrl-C stops it)
          options: --check  start, check every URL answers, stop again
                   --reset  stop this checkout's PostgreSQL and delete its demo data
  test    run every test, installing what is missing (PostgreSQL server, test tools)
          options: --quick  only the Rust tests (no interop, browser or Nix checks)
                   -- ARGS  only `cargo test ARGS` (e.g. `-- -p coop-web --test it feed::`)
  bench   run every benchmark (tests/bench/*.sh, about 40 min) and print one table, each figure
          beside its reference measured in the same run; a full run writes docs/performance.md
          options: NAME...   only these (sso finance ims pos buyers-club devices)
                   --quick   small sizes and one round, to check the benchmarks work (~13 min once built)
                   --no-docs leave docs/performance.md as it is
  sqlx    prepare  rebuild the offline data of the SQL checked at compile time (.sqlx/)
          check    fail if that data is out of date (part of `test`)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("sqlx") => sqlx::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        // A step of `test`: both commands from a copy of the checkout in a private folder.
        Some("anywhere") => anywhere::run(),
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
