//! Test support for a service's browser pass (feature `testing`, for dev-dependencies only): a
//! stand-in for coop-sso's sign-in. `GET /test/as/<name>` sets a cookie and goes to the
//! service's home; a layer turns that cookie into the signed-in member `who(name)` gives, so the
//! real pages render for a member, a manager or a bookkeeper without coop-sso running. Never
//! built into a service's binary.

use axum::extract::{Path, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use coop_domain::Role;
use serde_json::{json, Value};

use crate::auth::CurrentUser;

/// A member for a browser pass: a fixed id from `id`, `roles`, named `Demo <name>`.
pub fn user(name: &str, id: u128, roles: &[Role]) -> CurrentUser {
    let mut u = CurrentUser::fixture(roles.iter().copied());
    u.sub = uuid::Uuid::from_u128(id).to_string();
    u.name = format!("Demo {name}");
    u
}

/// `app` behind the stand-in sign-in: `/test/as/<name>` signs in as `who(name)` and goes to
/// `home`.
pub fn signed_in_as(
    app: Router,
    home: &'static str,
    who: fn(&str) -> Option<CurrentUser>,
) -> Router {
    Router::new()
        .route(
            "/test/as/{name}",
            get(move |Path(name): Path<String>| async move {
                (
                    [
                        (
                            header::SET_COOKIE,
                            format!("test-as={name}; Path=/; HttpOnly; SameSite=Lax"),
                        ),
                        (header::LOCATION, home.to_owned()),
                    ],
                    axum::http::StatusCode::SEE_OTHER,
                )
                    .into_response()
            }),
        )
        .fallback_service(app)
        .layer(axum::middleware::from_fn(
            move |mut req: Request, next: Next| async move {
                let name = req
                    .headers()
                    .get_all(header::COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(';'))
                    .find_map(|c| c.trim().strip_prefix("test-as=").map(str::to_owned));
                if let Some(u) = name.as_deref().and_then(who) {
                    req.extensions_mut().insert(u);
                }
                next.run(req).await
            },
        ))
}

/// A browser session for the pass: sign in as `who`, then `pages`.
pub fn session(lang: &str, who: &str, pages: Vec<Value>) -> Value {
    let mut steps = vec![json!({ "visit": format!("/test/as/{who}") })];
    steps.extend(pages);
    json!({ "name": format!("{who} ({lang})"), "steps": steps })
}
