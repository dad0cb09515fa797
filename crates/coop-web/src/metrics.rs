//! Prometheus text metrics: request counts and latency per route, plus whatever a service adds.
//! Small on purpose: a mutex-guarded map is plenty at a co-op's request rates.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    counters: BTreeMap<(&'static str, String), u64>,
}

/// The registry of one service.
#[derive(Debug, Clone)]
pub struct Metrics {
    service: &'static str,
    inner: Arc<Mutex<Inner>>,
}

impl Metrics {
    pub fn new(service: &'static str) -> Self {
        Self {
            service,
            inner: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a domain event, e.g. `incr("coop_sso_logins_total", "failed")`.
    pub fn incr(&self, name: &'static str, label: &str) {
        *self
            .lock()
            .counters
            .entry((name, label.to_owned()))
            .or_default() += 1;
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut inner = self.lock();
        *inner
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let h = inner.latency.entry(route.to_owned()).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let inner = self.lock();
        let svc = self.service;
        let mut out = String::new();
        out.push_str("# HELP http_requests_total HTTP requests by route and status.\n# TYPE http_requests_total counter\n");
        for ((method, route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "http_requests_total{{service=\"{svc}\",method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(method),
                escape(route)
            );
        }
        out.push_str("# HELP http_request_duration_seconds Time to answer a request.\n# TYPE http_request_duration_seconds histogram\n");
        for (route, h) in &inner.latency {
            let route = escape(route);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{service=\"{svc}\",route=\"{route}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{service=\"{svc}\",route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{service=\"{svc}\",route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{service=\"{svc}\",route=\"{route}\"}} {}",
                h.count
            );
        }
        let mut last = "";
        for ((name, label), n) in &inner.counters {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            let _ = writeln!(
                out,
                "{name}{{service=\"{svc}\",kind=\"{}\"}} {n}",
                escape(label)
            );
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Records every request under its route template (never the raw path, which may hold tokens).
pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    metrics.observe_request(
        &method,
        &route,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_histograms() {
        let m = Metrics::new("coop-test");
        m.observe_request("GET", "/x", 200, 0.003);
        m.observe_request("GET", "/x", 200, 0.2);
        m.incr("coop_test_logins_total", "ok");
        let text = m.render();
        assert!(text.contains("http_requests_total{service=\"coop-test\",method=\"GET\",route=\"/x\",status=\"200\"} 2"));
        assert!(text.contains("http_request_duration_seconds_bucket{service=\"coop-test\",route=\"/x\",le=\"0.005\"} 1"));
        assert!(text.contains("http_request_duration_seconds_bucket{service=\"coop-test\",route=\"/x\",le=\"+Inf\"} 2"));
        assert!(text.contains("coop_test_logins_total{service=\"coop-test\",kind=\"ok\"} 1"));
    }
}
