//! What stands between a till and central in the fault tests: a pass-through that can cut the
//! line (the shop's network is down: every request fails as an unreachable server would) and
//! that sends every sales upload twice at the same moment, as a till retrying a request whose
//! answer was lost would, racing itself.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};

#[derive(Clone)]
struct Line {
    target: String,
    http: reqwest::Client,
    cut: Arc<AtomicBool>,
    doubled: Arc<AtomicUsize>,
    problems: Arc<Mutex<Vec<String>>>,
}

pub struct Proxy {
    pub url: String,
    cut: Arc<AtomicBool>,
    doubled: Arc<AtomicUsize>,
    problems: Arc<Mutex<Vec<String>>>,
    _served: coop_testkit::http::Served,
}

impl Proxy {
    pub async fn start(target: &str) -> Self {
        let line = Line {
            target: target.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cut: Arc::default(),
            doubled: Arc::default(),
            problems: Arc::default(),
        };
        let (cut, doubled, problems) = (
            line.cut.clone(),
            line.doubled.clone(),
            line.problems.clone(),
        );
        let router = axum::Router::new().fallback(forward).with_state(line);
        let served = coop_testkit::http::serve(router).await;
        Self {
            url: format!("http://{}", served.addr),
            cut,
            doubled,
            problems,
            _served: served,
        }
    }

    /// Cuts the line (`true`) or mends it.
    pub fn cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
    }

    /// Uploads sent twice at once that were not both taken, each with the two answers.
    pub fn problems(&self) -> Vec<String> {
        self.problems.lock().unwrap().clone()
    }

    /// How many uploads were sent twice at once.
    pub fn doubled(&self) -> usize {
        self.doubled.load(Ordering::SeqCst)
    }
}

async fn forward(State(line): State<Line>, request: Request) -> Response {
    if line.cut.load(Ordering::SeqCst) {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, 64 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    let url = format!("{}{path}", line.target);
    let send = || {
        let mut r = line.http.request(parts.method.clone(), &url);
        for (name, value) in &parts.headers {
            if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
                r = r.header(name, value);
            }
        }
        r.body(body.clone()).send()
    };
    let answer = if parts.method == axum::http::Method::POST && parts.uri.path() == "/api/sales" {
        line.doubled.fetch_add(1, Ordering::SeqCst);
        let (first, second) = tokio::join!(send(), send());
        // Both must be taken as the same upload; the till hears the first.
        if let (Ok(a), Ok(b)) = (&first, &second) {
            if !(a.status().is_success() && b.status().is_success()) {
                line.problems.lock().unwrap().push(format!(
                    "an upload sent twice at once was answered {} and {}",
                    a.status(),
                    b.status()
                ));
            }
        }
        first
    } else {
        send().await
    };
    match answer {
        Ok(r) => {
            let mut out = Response::builder().status(r.status().as_u16());
            for (name, value) in r.headers() {
                if name != reqwest::header::CONTENT_LENGTH
                    && name != reqwest::header::TRANSFER_ENCODING
                {
                    out = out.header(name.as_str(), value.as_bytes());
                }
            }
            let bytes = r.bytes().await.unwrap_or_default();
            out.body(Body::from(bytes))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}
