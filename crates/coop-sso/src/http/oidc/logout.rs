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

/// An `id_token_hint` that checked out: an ID token this issuer signed (expired ones too: a
/// member may sign out long after signing in), for a client we know.
#[derive(Debug)]
struct Hint {
    sub: String,
    aud: Vec<String>,
}

/// `Ok(None)` without a hint; an error for a hint that is not one of our ID tokens.
fn check_hint(
    state: &AppState,
    hint: Option<&str>,
) -> std::result::Result<Option<Hint>, &'static str> {
    let Some(hint) = hint.filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    let bad = "oauth-error-logout-hint";
    let (header, claims) = crate::jwt::verify(&state.keys, hint).map_err(|_| bad)?;
    // Access tokens are signed with our keys too; only an ID token is a hint.
    if header["typ"].as_str().is_some_and(|t| t != "JWT") {
        return Err(bad);
    }
    if claims["iss"].as_str() != Some(&*state.issuer) {
        return Err(bad);
    }
    let aud: Vec<String> = match &claims["aud"] {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    if aud.is_empty() || !aud.iter().all(|a| state.clients.get(a).is_some()) {
        return Err(bad);
    }
    let sub = claims["sub"].as_str().ok_or(bad)?.to_owned();
    Ok(Some(Hint { sub, aud }))
}

/// The client named by `client_id` or by the hint's audience (they must agree when both are
/// given), and the redirect if it is registered for that client.
fn checked_redirect(
    state: &AppState,
    q: &LogoutQuery,
    hint: Option<&Hint>,
) -> std::result::Result<Option<String>, &'static str> {
    let client_id = q.client_id.as_deref().filter(|c| !c.is_empty());
    if let (Some(c), Some(h)) = (client_id, hint) {
        if !h.aud.iter().any(|a| a == c) {
            return Err("oauth-error-logout-hint");
        }
    }
    let Some(uri) = q
        .post_logout_redirect_uri
        .as_deref()
        .filter(|u| !u.is_empty())
    else {
        return Ok(None);
    };
    let client_id = client_id
        .map(str::to_owned)
        .or_else(|| hint.and_then(|h| h.aud.first().cloned()))
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
    signin::MaybeSignedIn(signed_in): signin::MaybeSignedIn,
    Query(q): Query<LogoutQuery>,
) -> Result<Response> {
    // A bad hint, or one for another client than `client_id`, is refused and changes nothing.
    let hint = match check_hint(&state, q.id_token_hint.as_deref()) {
        Ok(h) => h,
        Err(key) => return error(&page, key),
    };
    let redirect = match checked_redirect(&state, &q, hint.as_ref()) {
        Ok(r) => r,
        Err(key) => return error(&page, key),
    };
    let me = signed_in;
    // A valid ID token of the member signed in here shows the request comes from their own
    // relying party: sign out at once. Otherwise ask, so a link cannot sign anyone out.
    let hinted_self = me.as_ref().is_some_and(|m| {
        hint.as_ref()
            .is_some_and(|h| h.sub == m.member.member_id.to_string())
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
    let redirect = checked_redirect(&state, &q, None);
    signin::end(&state, &page.session).await?;
    match redirect {
        Ok(Some(r)) => Ok(Redirect::to(&r).into_response()),
        Ok(None) => Ok(page
            .render("logout.html", &serde_json::json!({ "done": true }))?
            .into_response()),
        Err(key) => error(&page, key),
    }
}
