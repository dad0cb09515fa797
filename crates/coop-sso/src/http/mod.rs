//! coop-sso's routes.

mod account;
pub(crate) mod forms;
mod login;
pub mod oidc;

use axum::Router;

use crate::state::AppState;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .merge(login::routes())
        .merge(account::routes())
        .merge(oidc::routes())
        .with_state(state.clone())
        .merge(coop_web::landing::routes(&state.kit))
}
