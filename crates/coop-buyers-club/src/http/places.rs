//! `GET /places`: the suppliers and the members who chose to be shown, as a list and (with a
//! tile server) a map; `POST /places/mine`: a member's own place.

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::{field_errors, form_page, member, AppState, Error, FormError};
use crate::places::{self, Mine};

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct MineForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
    #[serde(default)]
    on_map: Option<String>,
}

async fn render(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    form: Option<&MineForm>,
    saved: bool,
    errors: &[FormError],
) -> Result<Response, Error> {
    let me = member(user)?;
    let all = places::all(&state.kit.db).await?;
    let numbered: Vec<serde_json::Value> = all
        .iter()
        .enumerate()
        .map(|(i, p)| json!({ "n": i + 1, "place": p }))
        .collect();
    let tiles = state.settings.map_tiles.as_deref();
    let map = tiles.and_then(|t| {
        let points: Vec<_> = all
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i + 1, p.latitude?, p.longitude?)))
            .collect();
        places::draw(&points, t, 768, 512)
    });
    let mine = places::mine(&state.kit.db, me).await?;
    let form = form.cloned().unwrap_or_else(|| MineForm {
        address: mine.address.clone(),
        latitude: mine
            .latitude
            .map(|d| d.normalize().to_string())
            .unwrap_or_default(),
        longitude: mine
            .longitude
            .map(|d| d.normalize().to_string())
            .unwrap_or_default(),
        on_map: mine.on_map.then(|| "on".into()),
    });
    let names: Vec<serde_json::Value> = map
        .as_ref()
        .map(|m| {
            m.pins
                .iter()
                .map(|p| json!({ "n": p.n, "x": p.left, "y": p.top, "name": all[p.n - 1].name }))
                .collect()
        })
        .unwrap_or_default();
    let html = page.render(
        "places.html",
        &json!({
            "places": numbered, "map": map, "pins": names, "attribution": state.settings.map_attribution,
            "form": form, "saved": saved, "errors": errors, "field_errors": field_errors(errors),
        }),
    )?;
    let mut res = form_page(errors, html);
    // The tiles come from the co-op's tile server: the page's policy lets those images in.
    if let Some(origin) = tiles
        .and_then(places::tiles_origin)
        .filter(|_| map.is_some())
    {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "default-src 'self'; img-src 'self' data: {origin}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        )) {
            res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    Ok(res)
}

/// `GET /places`.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<SavedQuery>,
) -> Result<Response, Error> {
    render(&state, &page, &user, None, q.saved.is_some(), &[]).await
}

/// `POST /places/mine`.
pub async fn save(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<MineForm>,
) -> Result<Response, Error> {
    let me = member(&user)?;
    let coordinate = |s: &str| -> Option<Option<Decimal>> {
        let s = s.trim().replace(',', ".");
        if s.is_empty() {
            Some(None)
        } else {
            s.parse::<Decimal>().ok().map(Some)
        }
    };
    let (latitude, longitude) = match (coordinate(&form.latitude), coordinate(&form.longitude)) {
        (Some(a), Some(b)) if a.is_some() == b.is_some() => (a, b),
        _ => {
            let e = FormError::new(Some("latitude"), page.t("club-error-location"));
            return render(&state, &page, &user, Some(&form), false, &[e]).await;
        }
    };
    let mine = Mine {
        address: form.address.clone(),
        latitude,
        longitude,
        on_map: form.on_map.as_deref() == Some("on"),
    };
    match places::set_mine(&state.kit.db, me, &mine, page.lang()).await {
        Ok(()) => Ok(Redirect::to(&state.url("/places?saved=1")).into_response()),
        Err(crate::store::Refused::Invalid(m)) => {
            let e = FormError::new(Some("latitude"), m);
            render(&state, &page, &user, Some(&form), false, &[e]).await
        }
        Err(e) => Err(e.into()),
    }
}
