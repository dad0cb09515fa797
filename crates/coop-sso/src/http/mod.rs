//! coop-sso's routes.

mod account;
mod admin;
mod feed;
pub(crate) mod forms;
mod invite;
mod login;
pub mod oidc;

use axum::Router;

use crate::state::AppState;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .merge(login::routes())
        .merge(account::routes())
        .merge(oidc::routes())
        .merge(admin::routes())
        .merge(invite::routes())
        .merge(feed::routes(&state))
        .with_state(state.clone())
        .merge(coop_web::landing::routes(&state.kit))
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::signin::viewer_layer,
        ))
}
