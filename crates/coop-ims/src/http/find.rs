//! The members' product finder: search by name or code, with the price, the member price,
//! whether the shop has it, and (where the co-op opts in) its aisle and shelf. A plain GET form,
//! so it works on any phone without JavaScript.

use axum::extract::{Query, State};
use axum::response::Html;
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::Page;
use serde::Deserialize;
use serde_json::json;

use super::{AppState, Error};
use crate::catalogue;

#[derive(Debug, Default, Deserialize)]
pub struct FindQuery {
    #[serde(default)]
    q: String,
}

/// `GET /?q`: the finder; an empty search shows nothing but the form.
pub async fn find(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<FindQuery>,
) -> Result<Html<String>, Error> {
    user.require(Role::Member)?;
    let query = q.q.trim();
    let rows = if query.is_empty() || query.chars().count() > 100 {
        Vec::new()
    } else {
        catalogue::search(
            &state.kit.db,
            query,
            page.lang().code(),
            state.today(),
            false,
            30,
            0,
        )
        .await?
    };
    Ok(page.render(
        "find.html",
        &json!({
            "q": query,
            "searched": !query.is_empty(),
            "rows": rows.iter().map(|r| json!({ "p": r, "in_stock": r.in_shop > rust_decimal::Decimal::ZERO })).collect::<Vec<_>>(),
            "show_locations": state.settings.show_locations,
            "is_manager": user.has(Role::Manager),
        }),
    )?)
}
