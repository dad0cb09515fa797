//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). The browser is only sent on to
//! a `post_logout_redirect_uri` registered for the client; anything else stays here.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use coop_web::{CsrfForm, Page};
use serde::Deserialize;
use url::Url;

use crate::signin;
use crate::state::AppState;
use crate::Result;

#[derive(Debug, Deserialize)]
pub struct LogoutQuery {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    client_id: Option<String>,
    state: Option<String>,
}

/// The client named by `client_id` or by the hint's audience, and the redirect if registered.
fn checked_redirect(
    state: &AppState,
    q: &LogoutQuery,
) -> std::result::Result<Option<String>, &'static str> {
    let Some(uri) = q
        .post_logout_redirect_uri
        .as_deref()
        .filter(|u| !u.is_empty())
    else {
        return Ok(None);
    };
    let hint_aud = q
        .id_token_hint
        .as_deref()
        .and_then(|t| crate::jwt::verify(&state.keys, t).ok())
        .and_then(|(_, c)| match &c["aud"] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_owned),
            _ => None,
        });
    let client_id = q
        .client_id
        .clone()
        .or(hint_aud)
        .ok_or("oauth-error-logout-client")?;
    let client = state
        .clients
        .get(&client_id)
        .ok_or("oauth-error-logout-client")?;
    if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
        return Err("oauth-error-logout-redirect");
    }
    let mut url = Url::parse(uri).map_err(|_| "oauth-error-logout-redirect")?;
    if let Some(s) = q.state.as_deref() {
        url.query_pairs_mut().append_pair("state", s);
    }
    Ok(Some(url.to_string()))
}

fn error(page: &Page, key: &str) -> Result<Response> {
    let html = page.render(
        "oauth_error.html",
        &serde_json::json!({ "message_key": key }),
    )?;
    Ok((axum::http::StatusCode::BAD_REQUEST, html).into_response())
}

pub async fn logout_page(
    page: Page,
    State(state): State<AppState>,
    Query(q): Query<LogoutQuery>,
) -> Result<Response> {
    let redirect = match checked_redirect(&state, &q) {
        Ok(r) => r,
        Err(key) => return error(&page, key),
    };
    let me = signin::current(&state, &page.session).await?;
    // A valid ID token of the member signed in here shows the request comes from their own
    // relying party: sign out at once. Otherwise ask, so a link cannot sign anyone out.
    let hinted_self = me.as_ref().is_some_and(|m| {
        q.id_token_hint
            .as_deref()
            .and_then(|t| crate::jwt::verify(&state.keys, t).ok())
            .is_some_and(|(_, c)| {
                c["sub"].as_str() == Some(m.member.member_id.to_string().as_str())
            })
    });
    if me.is_none() || hinted_self {
        signin::end(&state, &page.session).await?;
        if let Some(r) = redirect {
            return Ok(Redirect::to(&r).into_response());
        }
        return Ok(page
            .render("logout.html", &serde_json::json!({ "done": true }))?
            .into_response());
    }
    Ok(page
        .render(
            "logout.html",
            &serde_json::json!({
                "done": false,
                "post_logout_redirect_uri": q.post_logout_redirect_uri.unwrap_or_default(),
                "state": q.state.unwrap_or_default(),
            }),
        )?
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
}

pub async fn logout_submit(
    page: Page,
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm<LogoutForm>,
) -> Result<Response> {
    // Without a client id the registered URI is looked for among every client.
    let client_id = form.client_id.clone().or_else(|| {
        let uri = form.post_logout_redirect_uri.as_deref()?;
        state
            .clients
            .iter()
            .find(|c| c.post_logout_redirect_uris.iter().any(|u| u == uri))
            .map(|c| c.client_id.clone())
    });
    let q = LogoutQuery {
        id_token_hint: None,
        post_logout_redirect_uri: form.post_logout_redirect_uri,
        client_id,
        state: form.state,
    };
    let redirect = checked_redirect(&state, &q);
    signin::end(&state, &page.session).await?;
    match redirect {
        Ok(Some(r)) => Ok(Redirect::to(&r).into_response()),
        Ok(None) => Ok(page
            .render("logout.html", &serde_json::json!({ "done": true }))?
            .into_response()),
        Err(key) => error(&page, key),
    }
}
