//! Logging: to journald when systemd connected our stderr to it (`JOURNAL_STREAM`), to stderr
//! otherwise. Our code logs with `tracing`; libraries that log with `log` are bridged into it.
//!
//! The level filter is an `EnvFilter` directive list, so per-crate directives work
//! (`info,sqlx=warn,coop_sso=debug`), from `log_filter` in the config.
//!
//! Under journald each event becomes one journal entry whose fields include those of the spans
//! it happened in: the kit's request span gives `REQUEST_ID`, `METHOD` and `ROUTE`, and the
//! sign-in extractors add `MEMBER` or `CLIENT_ID`; so `journalctl -u coop-sso REQUEST_ID=…` finds
//! one request's lines. Event fields other than the message become fields too.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the logger once; later calls (tests) are ignored.
pub fn init(service: &str, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    if systemd_journal_logger::connected_to_journal() {
        if let Ok(journal) = systemd_journal_logger::JournalLog::new() {
            let journal = journal.with_syslog_identifier(service.to_owned());
            let _ = tracing_subscriber::registry()
                .with(JournalLayer::new(journal).with_filter(filter))
                .try_init();
            return;
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// A span's fields, kept in its extensions.
#[derive(Debug, Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    fn set(&mut self, name: &str, value: String) {
        let key = journal_key(name);
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.0.push((key, value));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.set(field.name(), format!("{value:?}"));
    }
}

/// An event's message and its other fields.
#[derive(Debug, Default)]
struct EventFields {
    message: String,
    fields: Fields,
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.message);
        } else {
            self.fields.record_str(field, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields.record_debug(field, value);
        }
    }
}

/// `request_id` -> `REQUEST_ID`: journal field names are upper-case ASCII, digits and `_`,
/// starting with a letter.
fn journal_key(name: &str) -> String {
    let mut key: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if !key.starts_with(|c: char| c.is_ascii_uppercase()) {
        key.insert_str(0, "F_");
    }
    key
}

/// Sends each event to a `log::Log` (the journal) with its spans' fields as key-values.
#[derive(Debug)]
pub struct JournalLayer<L> {
    sink: L,
}

impl<L: log::Log> JournalLayer<L> {
    pub fn new(sink: L) -> Self {
        Self { sink }
    }
}

fn log_level(level: Level) -> log::Level {
    match level {
        Level::ERROR => log::Level::Error,
        Level::WARN => log::Level::Warn,
        Level::INFO => log::Level::Info,
        Level::DEBUG => log::Level::Debug,
        Level::TRACE => log::Level::Trace,
    }
}

impl<S, L> Layer<S> for JournalLayer<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: log::Log + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut fields = Fields::default();
            attrs.record(&mut fields);
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(fields) = ext.get_mut::<Fields>() {
                values.record(fields);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut own = EventFields::default();
        event.record(&mut own);
        // Outer spans first, so an inner span's field of the same name wins.
        let mut all = Fields::default();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<Fields>() {
                    for (k, v) in &fields.0 {
                        all.set(k, v.clone());
                    }
                }
            }
        }
        for (k, v) in own.fields.0 {
            all.set(&k, v);
        }
        let pairs: Vec<(&str, &str)> = all
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let meta = event.metadata();
        self.sink.log(
            &log::Record::builder()
                .level(log_level(*meta.level()))
                .target(meta.target())
                .module_path(meta.module_path())
                .file(meta.file())
                .line(meta.line())
                .key_values(&pairs)
                .args(format_args!("{}", own.message))
                .build(),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::{EnvFilter, Layer as _};

    use super::JournalLayer;

    type Seen = Arc<Mutex<Vec<(log::Level, String, String, Vec<(String, String)>)>>>;

    /// Keeps what would go to the journal.
    #[derive(Debug, Clone, Default)]
    struct Capture(Seen);

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            struct Collect(Vec<(String, String)>);
            impl<'k> log::kv::VisitSource<'k> for Collect {
                fn visit_pair(
                    &mut self,
                    key: log::kv::Key<'k>,
                    value: log::kv::Value<'k>,
                ) -> Result<(), log::kv::Error> {
                    self.0.push((key.to_string(), value.to_string()));
                    Ok(())
                }
            }
            let mut kv = Collect(Vec::new());
            record.key_values().visit(&mut kv).unwrap();
            self.0.lock().unwrap().push((
                record.level(),
                record.target().to_owned(),
                record.args().to_string(),
                kv.0,
            ));
        }
        fn flush(&self) {}
    }

    #[test]
    fn events_carry_their_spans_fields_and_the_filter_is_per_crate() {
        let capture = Capture::default();
        let filter = EnvFilter::new("warn,coop_web=debug,noisy=error");
        let subscriber = tracing_subscriber::registry()
            .with(JournalLayer::new(capture.clone()).with_filter(filter));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                method = "GET",
                route = "/api/feed",
                request_id = "r-1",
                member = tracing::field::Empty
            );
            let _in = span.enter();
            span.record("member", "m-42");
            tracing::debug!(batch = 7, "fetched");
            tracing::debug!(target: "noisy", "hidden");
            tracing::warn!(target: "noisy", "still hidden");
            tracing::error!(target: "noisy", "shown");
        });
        let seen = capture.0.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        let (level, _target, message, fields) = &seen[0];
        assert_eq!(*level, log::Level::Debug);
        assert_eq!(message, "fetched");
        for want in [
            ("METHOD", "GET"),
            ("ROUTE", "/api/feed"),
            ("REQUEST_ID", "r-1"),
            ("MEMBER", "m-42"),
            ("BATCH", "7"),
        ] {
            assert!(
                fields.iter().any(|(k, v)| k == want.0 && v == want.1),
                "{want:?} in {fields:?}"
            );
        }
        assert_eq!(seen[1].2, "shown");
    }

    #[test]
    fn journal_keys_are_upper_case_and_start_with_a_letter() {
        assert_eq!(super::journal_key("request_id"), "REQUEST_ID");
        assert_eq!(super::journal_key("http.route"), "HTTP_ROUTE");
        assert_eq!(super::journal_key("1st"), "F_1ST");
    }
}
