//! The co-op's start page: its name, a link to each service it runs, the language switcher.

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::app::{Kit, Page};
use crate::config::ServiceName;

#[derive(Debug, Serialize)]
struct ServiceLink {
    url: String,
    label_key: String,
    description_key: String,
}

async fn landing(page: Page, State(kit): State<Kit>) -> Result<Html<String>, crate::Error> {
    let services: Vec<ServiceLink> = ServiceName::ALL
        .into_iter()
        .filter_map(|name| kit.coop.service(name))
        .map(|s| ServiceLink {
            url: format!("{}/", s.public_url.as_str().trim_end_matches('/')),
            label_key: format!("service-{}", s.name.key()),
            description_key: format!("service-{}-description", s.name.key()),
        })
        .collect();
    let matrix_url = kit.coop.matrix.as_ref().map(|m| m.public_url.to_string());
    page.render(
        "landing.html",
        &serde_json::json!({ "services": services, "matrix_url": matrix_url }),
    )
}

/// `GET /`: mount it in the service that owns the co-op's root URL.
pub fn routes(kit: &Kit) -> Router {
    Router::new()
        .route("/", get(landing))
        .with_state(kit.clone())
}
