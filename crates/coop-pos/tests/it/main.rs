//! coop-pos central's integration tests, in one binary: the sales a till uploads (stored once,
//! chained, flagged when wrong), and the service over HTTP (who may upload, who may read the
//! feed, the managers' page).

#[cfg(feature = "interop")]
mod browser;
mod hours;
mod http;
mod ingest;
mod power;
mod recovery;
mod sales;
mod till_config;
