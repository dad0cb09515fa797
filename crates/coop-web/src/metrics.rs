//! Metrics through the `metrics` facade, exposed at `/metrics` by the Prometheus exporter.
//!
//! The kit counts every request under its route template (never the raw path, which may hold
//! tokens) and times it; a service counts its own events with the facade's macros, re-exported
//! here, with labels named for what they hold:
//!
//! ```ignore
//! coop_web::metrics::counter!("coop_sso_logins_total", "outcome" => "failed").increment(1);
//! ```
//!
//! One process has one recorder: the first service to start installs it, with its name as the
//! `service` label on every series.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

/// Upper bounds of the request latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The handle that renders this process's metrics.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Installs the process's recorder on first use and returns its handle.
    pub fn new(service: &'static str) -> Self {
        let handle = RECORDER
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new()
                    .add_global_label("service", service)
                    .set_buckets_for_metric(
                        Matcher::Full("http_request_duration_seconds".into()),
                        &BUCKETS,
                    )
                    .expect("the bucket list is not empty")
                    .build_recorder();
                let handle = recorder.handle();
                // Another recorder (a test harness's) may be installed already; ours then
                // renders nothing, which the tests would show.
                let _ = metrics::set_global_recorder(recorder);
                describe_counter!(
                    "http_requests_total",
                    "HTTP requests by method, route template and status."
                );
                describe_histogram!(
                    "http_request_duration_seconds",
                    metrics::Unit::Seconds,
                    "Time to answer a request, by route template."
                );
                handle
            })
            .clone();
        Self { handle }
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// The handles of one route: its latency histogram and a counter per method and status.
#[derive(Default)]
struct RouteHandles {
    latency: Option<metrics::Histogram>,
    requests: HashMap<(&'static str, u16), metrics::Counter>,
}

/// The method as a label: the standard ones by name, anything else as `OTHER`, so that a client
/// inventing methods cannot grow the series (and this map) without bound.
fn method_label(method: &http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "OTHER",
    }
}

/// Handles by route template, so that a request costs two map look-ups and no allocation (the
/// facade would otherwise build the labelled key anew on every request: about 10 % of the
/// throughput of coop-sso's cheapest endpoint).
static ROUTES: OnceLock<RwLock<HashMap<String, RouteHandles>>> = OnceLock::new();

fn record(method: &http::Method, route: &str, status: u16, seconds: f64) {
    let method = method_label(method);
    let routes = ROUTES.get_or_init(RwLock::default);
    {
        let read = routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = read.get(route) {
            if let (Some(latency), Some(counter)) = (&h.latency, h.requests.get(&(method, status)))
            {
                latency.record(seconds);
                counter.increment(1);
                return;
            }
        }
    }
    let mut write = routes
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let h = write.entry(route.to_owned()).or_default();
    let latency = h.latency.get_or_insert_with(
        || histogram!("http_request_duration_seconds", "route" => route.to_owned()),
    );
    latency.record(seconds);
    h.requests
        .entry((method, status))
        .or_insert_with(|| {
            counter!(
                "http_requests_total",
                "method" => method,
                "route" => route.to_owned(),
                "status" => status.to_string()
            )
        })
        .increment(1);
}

/// Records every request under its route template.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let res = next.run(req).await;
    record(
        &method,
        route.as_ref().map_or("(unmatched)", MatchedPath::as_str),
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        let m = http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&m), "OTHER");
        assert_eq!(method_label(&http::Method::POST), "POST");
        assert_eq!(method_label(&http::Method::TRACE), "TRACE");
    }

    #[test]
    fn renders_counts_and_histograms() {
        let m = Metrics::new("coop-test");
        histogram!("http_request_duration_seconds", "route" => "/x").record(0.003);
        histogram!("http_request_duration_seconds", "route" => "/x").record(0.2);
        counter!("coop_test_logins_total", "outcome" => "ok").increment(1);
        let text = m.render();
        assert!(
            text.contains(
                "http_request_duration_seconds_bucket{service=\"coop-test\",route=\"/x\",le=\"0.005\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "http_request_duration_seconds_bucket{service=\"coop-test\",route=\"/x\",le=\"+Inf\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("coop_test_logins_total{service=\"coop-test\",outcome=\"ok\"} 1"),
            "{text}"
        );
    }
}
