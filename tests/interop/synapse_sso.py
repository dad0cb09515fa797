#!/usr/bin/env python3
"""Synapse (matrix-synapse from PyPI) signs a member in through the OP with SSO.

Writes a homeserver.yaml into a temp dir (server_name localhost, SQLite, one client listener on
127.0.0.1, no federation listener, trusted_key_servers: [], the OP in oidc_providers as
idp_id `cooperage`), starts Synapse, drives the SSO login with the login driver and checks that
the member ends up with a Matrix access token for @EXPECT_LOCALPART:localhost.

Env (required): ISSUER, CLIENT_ID, CLIENT_SECRET or CLIENT_SECRET_FILE, USER, PASSWORD,
                EXPECT_LOCALPART
Env (optional): SYNAPSE_PORT (default: a free port; the OP must accept the redirect URI
                http://127.0.0.1:SYNAPSE_PORT/_synapse/client/oidc/callback),
                CLIENT_AUTH_METHOD (client_secret_basic | client_secret_post; default basic),
                EXPECT_DISPLAYNAME (checked against the Matrix profile),
                BACKCHANNEL_LOGOUT=1 (Synapse accepts the OP's logout tokens) and
                SUSPEND_CMD (a shell command that suspends the member at the OP; then both Matrix
                sessions must end within 30 s),
                KEEP_SYNAPSE_DIR=1 (keep the temp dir), TIMEOUT_S (default 180), DEBUG=1
Output: `ok - ...` / `not ok - ...: reason`, then `N passed, M failed`; exit 1 on any failure.
Synapse is stopped on exit, whatever happened.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import requests

from login_driver import drive_login, new_jar
from tap import Report, require_env

IDP_ID = "cooperage"
SERVER_NAME = "localhost"
# Where Synapse sends the browser at the end (a Matrix client would be here). Nothing listens:
# the driver stops as soon as it is sent there.
CLIENT_REDIRECT = "http://127.0.0.1:9/matrix-client/sso-complete"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(d: Path, port: int, env: dict) -> Path:
    provider = {
        "idp_id": IDP_ID,
        "idp_name": "Cooperage",
        "issuer": env["ISSUER"],
        "client_id": env["CLIENT_ID"],
        "client_auth_method": env.get("CLIENT_AUTH_METHOD", "client_secret_basic"),
        "scopes": ["openid", "profile", "email"],
        "pkce_method": "always",
        "user_mapping_provider": {"config": {
            "localpart_template": "{{ user.preferred_username }}",
            "display_name_template": "{{ user.name }}",
            "email_template": "{{ user.email }}",
        }},
    }
    if env.get("BACKCHANNEL_LOGOUT") == "1":
        # The OP posts logout tokens to /_synapse/client/oidc/backchannel_logout (Synapse 1.71+).
        provider["backchannel_logout_enabled"] = True
    if env.get("CLIENT_SECRET_FILE"):
        provider["client_secret_path"] = str(Path(env["CLIENT_SECRET_FILE"]).resolve())
    else:
        provider["client_secret"] = env["CLIENT_SECRET"]
    log_config = d / "log.yaml"
    # JSON is YAML: no need for a YAML writer.
    log_config.write_text(json.dumps({
        "version": 1,
        "formatters": {"f": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "formatter": "f",
                              "filename": str(d / "homeserver.log")}},
        "root": {"level": "INFO", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }))
    config = {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(d / "homeserver.pid"),
        "listeners": [{
            "port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
            "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
        }],
        "database": {"name": "sqlite3", "args": {"database": str(d / "homeserver.db")}},
        "log_config": str(log_config),
        "media_store_path": str(d / "media_store"),
        "signing_key_path": str(d / "signing.key"),
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "report_stats": False,
        "enable_registration": False,
        "federation_domain_whitelist": [],
        "url_preview_enabled": False,
        "oidc_providers": [provider],
    }
    path = d / "homeserver.yaml"
    path.write_text(json.dumps(config, indent=2))
    return path


def main() -> int:
    env = dict(os.environ)
    require_env(env, ["ISSUER", "CLIENT_ID", "USER", "PASSWORD", "EXPECT_LOCALPART"], "synapse_sso.py")
    if not env.get("CLIENT_SECRET") and not env.get("CLIENT_SECRET_FILE"):
        require_env(env, ["CLIENT_SECRET"], "synapse_sso.py")
    deadline = time.monotonic() + float(env.get("TIMEOUT_S", "180"))
    debug = (lambda m: print(f"# {m}", file=sys.stderr)) if env.get("DEBUG") else None
    r = Report()
    port = int(env.get("SYNAPSE_PORT") or free_port())
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="synapse-sso-"))
    proc: subprocess.Popen | None = None

    def stop(*_):
        raise SystemExit(130)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        config = write_config(workdir, port, env)
        if r.check("synapse --generate-keys", subprocess.run,
                   [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config), "--generate-keys"],
                   check=True, capture_output=True, timeout=60) is None:
            return r.finish()
        with open(workdir / "stdout.log", "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)],
                                    stdout=out, stderr=subprocess.STDOUT, cwd=workdir)

        def wait_ready():
            until = min(deadline, time.monotonic() + 90)
            while time.monotonic() < until:
                if proc.poll() is not None:
                    raise RuntimeError(f"synapse exited with {proc.returncode}")
                try:
                    if requests.get(f"{base}/_matrix/client/versions", timeout=2).status_code == 200:
                        return
                except requests.RequestException:
                    pass
                time.sleep(0.25)
            raise TimeoutError("synapse did not answer /_matrix/client/versions")

        t0 = time.monotonic()
        if r.check(f"synapse starts on {base} (SQLite)", wait_ready) is None:
            return r.finish()
        if debug:
            debug(f"synapse ready in {time.monotonic() - t0:.1f} s")

        def sso_offered():
            flows = requests.get(f"{base}/_matrix/client/v3/login", timeout=10).json()["flows"]
            sso = [f for f in flows if f["type"] == "m.login.sso"]
            idps = [p["id"] for f in sso for p in f.get("identity_providers", [])]
            if f"oidc-{IDP_ID}" not in idps:
                raise ValueError(f"m.login.sso identity providers: {idps!r}")

        r.check(f"synapse offers m.login.sso with oidc-{IDP_ID}", sso_offered)

        def sso_login(label: str):
            start = (f"{base}/_matrix/client/v3/login/sso/redirect/oidc-{IDP_ID}"
                     f"?redirectUrl={quote(CLIENT_REDIRECT, safe='')}")
            final = r.check(f"{label}: SSO login through the OP returns a loginToken",
                            lambda: _login_token(start))
            if final is None:
                return None
            resp = r.check(f"{label}: m.login.token gives an access token",
                           lambda: _token_login(final))
            return resp

        def _login_token(start: str) -> str:
            url = drive_login(start, CLIENT_REDIRECT, env["USER"], env["PASSWORD"], jar=new_jar(),
                              timeout_s=max(5.0, deadline - time.monotonic()), log=debug)
            token = parse_qs(urlsplit(url).query).get("loginToken", [None])[0]
            if not token:
                raise ValueError(f"no loginToken in {url}")
            return token

        def _token_login(token: str) -> dict:
            resp = requests.post(f"{base}/_matrix/client/v3/login", timeout=10,
                                 json={"type": "m.login.token", "token": token})
            if resp.status_code != 200:
                raise ValueError(f"HTTP {resp.status_code}: {resp.text[:300]}")
            body = resp.json()
            if not body.get("access_token") or not body.get("user_id"):
                raise ValueError(f"unexpected body {body!r}")
            return body

        expected = f"@{env['EXPECT_LOCALPART']}:{SERVER_NAME}"
        first = sso_login("first login")
        if first is not None:
            r.check(f"user_id is {expected}", lambda: _expect(first["user_id"] == expected,
                                                              f"user_id {first['user_id']!r}"))

            def whoami():
                resp = requests.get(f"{base}/_matrix/client/v3/account/whoami", timeout=10,
                                    headers={"Authorization": f"Bearer {first['access_token']}"})
                _expect(resp.status_code == 200, f"HTTP {resp.status_code}: {resp.text[:200]}")
                _expect(resp.json().get("user_id") == expected, f"whoami says {resp.json()!r}")

            r.check("whoami agrees", whoami)
            if env.get("EXPECT_DISPLAYNAME"):
                def displayname():
                    resp = requests.get(f"{base}/_matrix/client/v3/profile/{quote(expected)}/displayname",
                                        timeout=10, headers={"Authorization": f"Bearer {first['access_token']}"})
                    got = resp.json().get("displayname")
                    _expect(got == env["EXPECT_DISPLAYNAME"], f"displayname {got!r}")

                r.check("display name from the name claim", displayname)
            second = sso_login("second login")
            if second is not None:
                r.check("second login maps to the same Matrix user (stable sub)",
                        lambda: _expect(second["user_id"] == expected, f"user_id {second['user_id']!r}"))
            if env.get("SUSPEND_CMD"):
                # The member is suspended at the OP; its back-channel logout must end the Matrix
                # sessions made through it: their access tokens stop working.
                def suspended_at_the_op():
                    done = subprocess.run(env["SUSPEND_CMD"], shell=True, capture_output=True, text=True,
                                          timeout=60)
                    _expect(done.returncode == 0, f"SUSPEND_CMD failed: {done.stderr[-300:]}")

                def logged_out(token: str):
                    until = time.monotonic() + 30
                    while True:
                        resp = requests.get(f"{base}/_matrix/client/v3/account/whoami", timeout=10,
                                            headers={"Authorization": f"Bearer {token}"})
                        if resp.status_code == 401:
                            return
                        if time.monotonic() > until:
                            raise ValueError(f"still HTTP {resp.status_code} after 30 s: {resp.text[:200]}")
                        time.sleep(0.5)

                r.check("the member is suspended at the OP", suspended_at_the_op)
                r.check("back-channel logout ended the first Matrix session",
                        lambda: logged_out(first["access_token"]))
                if second is not None:
                    r.check("back-channel logout ended the second Matrix session",
                            lambda: logged_out(second["access_token"]))
        return r.finish()
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if r.failed:
            for name in ("stdout.log", "homeserver.log"):
                p = workdir / name
                if p.exists():
                    lines = p.read_text(errors="replace").splitlines()
                    relevant = [ln for ln in lines if " ERROR " in ln or " WARNING " in ln or "Traceback" in ln]
                    print(f"# --- {name}: last warnings/errors ---", file=sys.stderr)
                    for ln in (relevant or lines)[-25:]:
                        print(f"# {ln}", file=sys.stderr)
        if env.get("KEEP_SYNAPSE_DIR") == "1":
            print(f"# synapse dir kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _expect(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


if __name__ == "__main__":
    sys.exit(main())
