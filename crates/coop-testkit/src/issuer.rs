//! A stand-in for coop-sso's token side: a discovery document and a JWKS on an ephemeral port,
//! and access tokens signed with its RSA key as coop-sso signs them (RS256, `typ` at+jwt), so a
//! service's bearer-token routes can be tested without coop-sso running.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::http::{serve_on, Served};

#[derive(Debug)]
pub struct TestIssuer {
    /// The issuer URL (`http://127.0.0.1:port`).
    pub issuer: String,
    key: KeyPair,
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
        let header = json!({ "alg": "RS256", "typ": "at+jwt", "kid": self.kid });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .expect("signing");
        format!("{input}.{}", b64(&sig))
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
