//! Figures for `cargo xtask bench`: a benchmark that knows a figure records it here as well as
//! printing it for a person.
//!
//! When `COOP_BENCH_FIGURES` names a file, [`Figure::record`] appends one JSON line to it; otherwise it
//! does nothing. The record's fields are read by `xtask/src/bench.rs`, and the shell helper
//! `tests/bench/figures.sh` writes the same shape for the figures the scripts measure themselves
//! (pgbench, oidc-provider, `/usr/bin/time`).

use std::io::Write;

/// Which way is better for a figure: a rate (higher) or a time or a size (lower).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

impl Better {
    fn as_str(self) -> &'static str {
        match self {
            Better::Higher => "higher",
            Better::Lower => "lower",
        }
    }
}

/// One measured figure, recorded with [`Figure::record`]:
///
/// ```no_run
/// # use coop_testkit::bench::Figure;
/// Figure::cost("coop-ims", "ims.lookup.p99", "look-up by barcode, p99", 0.47, "ms")
///     .against("pgbench.select.c1.latency")
///     .record();
/// ```
#[derive(Debug, Clone)]
#[must_use = "a figure is recorded only by .record()"]
pub struct Figure {
    /// The program measured: `coop-ims`, `PostgreSQL`, `oidc-provider`.
    service: String,
    /// Unique within a script's run, e.g. `ims.lookup.p99`; a reference is named by its id.
    id: String,
    /// What was measured, for a person: "look-up by barcode, p99".
    what: String,
    value: f64,
    /// `ms`, `s`, `MiB`, `req/s`, `lines/s`, …
    unit: String,
    better: Better,
    /// The id of the figure measured in the same run that this one is compared with.
    reference: Option<String>,
}

impl Figure {
    fn new(service: &str, id: &str, what: &str, value: f64, unit: &str, better: Better) -> Self {
        Figure {
            service: service.into(),
            id: id.into(),
            what: what.into(),
            value,
            unit: unit.into(),
            better,
            reference: None,
        }
    }

    /// A figure where more is better: a rate.
    pub fn rate(service: &str, id: &str, what: &str, value: f64, unit: &str) -> Self {
        Self::new(service, id, what, value, unit, Better::Higher)
    }

    /// A figure where less is better: a time, a size.
    pub fn cost(service: &str, id: &str, what: &str, value: f64, unit: &str) -> Self {
        Self::new(service, id, what, value, unit, Better::Lower)
    }

    /// Compared with the figure `reference` (its id), measured in the same run.
    pub fn against(mut self, reference: &str) -> Self {
        self.reference = Some(reference.into());
        self
    }

    /// Records the figure in the file `COOP_BENCH_FIGURES` names, if any. A figure that is not
    /// a finite number is a bug in the benchmark, so it panics rather than recording it.
    pub fn record(self) {
        assert!(
            self.value.is_finite(),
            "figure {} is not a number: {}",
            self.id,
            self.value
        );
        let Some(path) = std::env::var_os("COOP_BENCH_FIGURES") else {
            return;
        };
        let line = serde_json::json!({
            "service": self.service,
            "id": self.id,
            "what": self.what,
            "value": self.value,
            "unit": self.unit,
            "better": self.better.as_str(),
            "reference": self.reference,
        });
        // One write of one line to a file opened for appending, so lines from two processes
        // never interleave.
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("COOP_BENCH_FIGURES {}: {e}", path.to_string_lossy()));
        file.write_all(format!("{line}\n").as_bytes())
            .unwrap_or_else(|e| panic!("COOP_BENCH_FIGURES {}: {e}", path.to_string_lossy()));
    }
}
