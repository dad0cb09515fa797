#!/usr/bin/env python3
"""Second opinion on the OP's discovery document: authlib's OpenIDProviderMetadata.validate()
(plus RP-Initiated Logout metadata when end_session_endpoint is present) and our own policy.

Env: ISSUER (required, compared byte for byte with the document's issuer),
     REQUIRE_S256_ONLY=1 to require code_challenge_methods_supported == ["S256"] exactly.
authlib itself accepts an http issuer only on loopback (RFC 8252 section 7.3), so does Synapse.
Output: `ok - ...` / `not ok - ...: reason`, then `N passed, M failed`; exit 1 on any failure.
"""

from __future__ import annotations

import os
import sys

from tap import Report, require_env


def main() -> int:
    require_env(os.environ, ["ISSUER"], "authlib_metadata.py")
    issuer = os.environ["ISSUER"]

    import requests
    from authlib.oidc.discovery import OpenIDProviderMetadata
    from authlib.oidc.rpinitiated import OpenIDProviderMetadata as LogoutMetadata

    r = Report()
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"

    def fetch():
        resp = requests.get(url, timeout=10, headers={"Accept": "application/json"})
        if resp.status_code != 200:
            raise ValueError(f"HTTP {resp.status_code}")
        if not resp.headers.get("Content-Type", "").startswith("application/json"):
            raise ValueError(f"Content-Type {resp.headers.get('Content-Type')!r}")
        doc = resp.json()
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        return doc

    doc = r.check(f"GET {url} returns a JSON object", fetch)
    if doc is None:
        return r.finish()
    md = OpenIDProviderMetadata(doc)

    def authlib_validate():
        classes = [LogoutMetadata] if "end_session_endpoint" in md else None
        try:
            md.validate(metadata_classes=classes)
        except ValueError:
            # validate() stops at the first problem: report them all.
            errors = []
            for cls in [OpenIDProviderMetadata] + (classes or []):
                inst = md if cls is OpenIDProviderMetadata else cls(md)
                for key in cls.REGISTRY_KEYS:
                    try:
                        object.__getattribute__(inst, f"validate_{key}")()
                    except ValueError as e:
                        errors.append(str(e))
            raise ValueError("; ".join(errors)) from None

    r.check("authlib OpenIDProviderMetadata.validate()", authlib_validate)

    def expect(cond, msg):
        if not cond:
            raise ValueError(msg)

    r.check("issuer equals ISSUER exactly",
            lambda: expect(md.get("issuer") == issuer, f"issuer is {md.get('issuer')!r}, expected {issuer!r}"))

    ccm = md.get("code_challenge_methods_supported")
    if os.environ.get("REQUIRE_S256_ONLY") == "1":
        r.check('code_challenge_methods_supported == ["S256"]',
                lambda: expect(ccm == ["S256"], f"is {ccm!r}"))
    else:
        r.check("code_challenge_methods_supported contains S256",
                lambda: expect(isinstance(ccm, list) and "S256" in ccm, f"is {ccm!r}"))

    rts = md.get("response_types_supported") or []

    def no_implicit():
        expect("code" in rts, f"'code' missing from {rts!r}")
        front = [t for t in rts if {"token", "id_token"} & set(t.split())]
        expect(not front, f"implicit/hybrid response types offered: {front!r}")

    r.check("response_types_supported has code and no implicit/hybrid types", no_implicit)

    gts = md.get("grant_types_supported")

    def no_password():
        # RFC 8414: absent means ["authorization_code", "implicit"].
        expect(isinstance(gts, list), "absent (defaults to authorization_code + implicit)")
        expect("password" not in gts, f"'password' offered: {gts!r}")
        expect("implicit" not in gts, f"'implicit' offered: {gts!r}")
        expect("authorization_code" in gts, f"'authorization_code' missing: {gts!r}")

    r.check("grant_types_supported has authorization_code, no password, no implicit", no_password)

    algs = md.get("id_token_signing_alg_values_supported") or []
    r.check("id_token_signing_alg_values_supported contains RS256",
            lambda: expect("RS256" in algs and "none" not in algs, f"is {algs!r}"))

    def jwks():
        resp = requests.get(md["jwks_uri"], timeout=10)
        expect(resp.status_code == 200, f"HTTP {resp.status_code}")
        keys = resp.json().get("keys", [])
        expect(not any("d" in k for k in keys), "private key material published")
        rsa = [k for k in keys if k.get("kty") == "RSA" and k.get("use", "sig") == "sig"
               and k.get("alg", "RS256") == "RS256" and k.get("kid")]
        expect(rsa, f"no RSA signing key with a kid among {len(keys)} keys")

    r.check("jwks_uri serves an RS256 signing key with a kid and no private parts", jwks)

    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
