//! Serving a router on an ephemeral port, and the HTTP client tests use.

use std::net::SocketAddr;

use axum::Router;

/// A running app: its address, and the task serving it (aborted on drop).
#[derive(Debug)]
pub struct Served {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `127.0.0.1:0` and serves `router` in the background.
pub async fn serve(router: Router) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding port 0");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Served { addr, task }
}

/// A client that keeps cookies and does not follow redirects, as tests want to see them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("building the HTTP client")
}

pub use crate::html::hidden_input;

/// The `Location` of a redirect; empty for an answer without one.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().expect("an ASCII Location").to_owned())
        .unwrap_or_default()
}

/// The decoded value of query parameter `name` in a URL or a path with a query.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The ids of the events in a feed answer (`GET /api/feed`), in order.
pub fn feed_ids(page: &serde_json::Value) -> Vec<i64> {
    page["events"]
        .as_array()
        .expect("an events array")
        .iter()
        .map(|e| e["id"].as_i64().expect("an event id"))
        .collect()
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The claims of a JWT, read without checking its signature (the test checks what it needs).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Serves `router` on an already bound listener (when the address must be known first).
pub fn serve_on(listener: tokio::net::TcpListener, router: Router) -> Served {
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Served { addr, task }
}
