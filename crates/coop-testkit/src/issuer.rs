//! A stand-in for coop-sso's token side: a discovery document and a JWKS on an ephemeral port,
//! and access tokens signed with its RSA key as coop-sso signs them (RS256, `typ` at+jwt), so a
//! service's bearer-token routes can be tested without coop-sso running. Its token endpoint
//! answers the client-credentials grant as coop-sso does for a suite service (every suite
//! service as audience, the service's default scopes), so a service's own calls to another
//! service can run too.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse as _;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::http::{serve_on, Served};

#[derive(Debug)]
pub struct TestIssuer {
    /// The issuer URL (`http://127.0.0.1:port`).
    pub issuer: String,
    key: Arc<KeyPair>,
    kid: String,
    _served: Served,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TestIssuer {
    pub async fn start() -> Self {
        let key = KeyPair::generate(KeySize::Rsa2048).expect("an RSA key");
        let kid = "test-key".to_owned();
        let public = key.public_key();
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding port 0");
        let addr = listener.local_addr().expect("local addr");
        let issuer = format!("http://{addr}");
        let doc = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || std::future::ready(Json(doc.clone()))),
            )
            .route(
                "/jwks",
                get(move || std::future::ready(Json(json!({ "keys": [jwk.clone()] })))),
            );
        let key = Arc::new(key);
        let (k, id, iss) = (key.clone(), kid.clone(), issuer.clone());
        let app = app.route(
            "/token",
            post(move |headers: HeaderMap, body: String| {
                std::future::ready(client_credentials(&k, &id, &iss, &headers, &body))
            }),
        );
        let served = serve_on(listener, app);
        Self {
            issuer,
            key,
            kid,
            _served: served,
        }
    }

    /// A token with these claims, signed as coop-sso signs access tokens.
    pub fn sign(&self, claims: &Value) -> String {
        sign(&self.key, &self.kid, claims)
    }

    /// A suite service's own token (client credentials) for `audience` with `scope`.
    pub fn service_token(&self, client_id: &str, audience: &str, scope: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        self.sign(&json!({
            "iss": self.issuer, "sub": client_id, "client_id": client_id, "aud": audience,
            "scope": scope, "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string(),
        }))
    }

    /// A paired till's token, as the device grant gives it: subject `till:<till>`, client
    /// `coop-till`, scope `till`.
    pub fn till_token(&self, till: &str, audience: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        self.sign(&json!({
            "iss": self.issuer, "sub": format!("till:{till}"), "client_id": "coop-till",
            "aud": audience, "scope": "till", "iat": now, "exp": now + 300,
            "jti": uuid::Uuid::new_v4().to_string(),
        }))
    }

    /// A token a member's sign-in gave `client_id` (not a service's own).
    pub fn member_token(
        &self,
        member: &str,
        client_id: &str,
        audience: &str,
        scope: &str,
    ) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        self.sign(&json!({
            "iss": self.issuer, "sub": member, "client_id": client_id, "aud": audience,
            "scope": scope, "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string(),
            "roles": ["member"],
        }))
    }
}

fn sign(key: &KeyPair, kid: &str, claims: &Value) -> String {
    let header = json!({ "alg": "RS256", "typ": "at+jwt", "kid": kid });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .expect("signing");
    format!("{input}.{}", b64(&sig))
}

/// The suite's services, every one an audience of a suite service's own token.
const SUITE: [&str; 5] = [
    "coop-sso",
    "coop-pos",
    "coop-ims",
    "coop-finance",
    "coop-buyers-club",
];

/// A suite service's scopes by default, as coop-sso grants them.
fn default_scopes(client: &str) -> Option<&'static str> {
    Some(match client {
        "coop-pos" => "members.feed members.roles wallet",
        "coop-buyers-club" => "members.feed members.households wallet",
        "coop-finance" => "members.feed members.households",
        "coop-ims" | "coop-sso" => "members.feed",
        _ => return None,
    })
}

/// `POST /token` with `grant_type=client_credentials` and the client in HTTP Basic: a suite
/// service's own token. The secret is not checked (coop-sso's own tests do that).
fn client_credentials(
    key: &KeyPair,
    kid: &str,
    issuer: &str,
    headers: &HeaderMap,
    body: &str,
) -> axum::response::Response {
    let refuse =
        |error: &str| (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response();
    let form: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap_or_default();
    if !form
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials")
    {
        return refuse("unsupported_grant_type");
    }
    let client = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(c, _)| c.to_owned()));
    let Some(scope) = client.as_deref().and_then(default_scopes) else {
        return refuse("invalid_client");
    };
    let client = client.unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let token = sign(
        key,
        kid,
        &json!({
            "iss": issuer, "sub": client, "client_id": client, "aud": SUITE,
            "scope": scope, "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string(),
        }),
    );
    Json(json!({
        "access_token": token, "token_type": "Bearer", "expires_in": 300, "scope": scope,
    }))
    .into_response()
}
