//! Logging: to journald when systemd says we run under it (`JOURNAL_STREAM`), to stderr
//! otherwise. Our code logs with `tracing`; under journald its events reach the journal through
//! tracing's `log` bridge and systemd-journal-logger.

use tracing_subscriber::EnvFilter;

/// Installs the logger once; later calls (tests) are ignored.
pub fn init(service: &str, filter: &str) {
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        if let Ok(journal) = systemd_journal_logger::JournalLog::new() {
            let journal = journal.with_syslog_identifier(service.to_owned());
            if journal.install().is_ok() {
                log::set_max_level(max_level(filter));
                return;
            }
        }
    }
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The most verbose level a filter string mentions (`info,sqlx=warn` -> info).
fn max_level(filter: &str) -> log::LevelFilter {
    let mut level = log::LevelFilter::Error;
    for part in filter.split(',') {
        let l = part.rsplit('=').next().unwrap_or("").trim();
        let this = match l.to_ascii_lowercase().as_str() {
            "trace" => log::LevelFilter::Trace,
            "debug" => log::LevelFilter::Debug,
            "info" => log::LevelFilter::Info,
            "warn" => log::LevelFilter::Warn,
            "off" => log::LevelFilter::Off,
            _ => log::LevelFilter::Error,
        };
        level = level.max(this);
    }
    level
}

#[cfg(test)]
mod tests {
    #[test]
    fn max_level_of_a_filter() {
        assert_eq!(super::max_level("info"), log::LevelFilter::Info);
        assert_eq!(
            super::max_level("warn,coop_sso=debug"),
            log::LevelFilter::Debug
        );
        assert_eq!(super::max_level("error"), log::LevelFilter::Error);
    }
}
