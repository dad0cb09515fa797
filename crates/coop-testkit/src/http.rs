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

/// Extracts the value of a hidden input (e.g. `csrf_token`) from an HTML page.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let end = tag[v..].find('"')?;
    Some(tag[v..v + end].replace("&#x2F;", "/").replace("&amp;", "&"))
}

/// Serves `router` on an already bound listener (when the address must be known first).
pub fn serve_on(listener: tokio::net::TcpListener, router: Router) -> Served {
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Served { addr, task }
}
