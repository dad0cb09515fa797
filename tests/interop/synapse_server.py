#!/usr/bin/env python3
"""A real Synapse (matrix-synapse from PyPI) on loopback for tests, with shared-secret
registration, so a test registers its own accounts (a bot, members) as a NixOS module would.

Usage: synapse_server.py WORKDIR SHARED_SECRET_FILE
  Writes WORKDIR/homeserver.yaml (server_name localhost, SQLite, one client listener on
  127.0.0.1 at a free port, no federation, registration closed but for the shared secret),
  starts Synapse and prints its port on the first line of stdout once
  /_matrix/client/versions answers. Runs until SIGTERM/SIGINT, then stops Synapse.
  Synapse's own log is WORKDIR/homeserver.log.
Env (optional): SYNAPSE_PORT (the port, chosen by the caller, e.g. because an OpenID provider
  must know the callback URL first); SYNAPSE_EXTRA (a JSON object of settings added to the
  config at its top level, e.g. "oidc_providers").
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    workdir = Path(sys.argv[1])
    secret = Path(sys.argv[2]).read_text().strip()
    workdir.mkdir(parents=True, exist_ok=True)
    port = int(os.environ.get("SYNAPSE_PORT") or free_port())
    extra = json.loads(os.environ.get("SYNAPSE_EXTRA") or "{}")
    log_config = workdir / "log.yaml"
    log_config.write_text(json.dumps({
        "version": 1,
        "formatters": {"f": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "formatter": "f",
                              "filename": str(workdir / "homeserver.log")}},
        "root": {"level": "INFO", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }))
    config = workdir / "homeserver.yaml"
    # JSON is YAML.
    config.write_text(json.dumps({
        "server_name": "localhost",
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(workdir / "homeserver.pid"),
        "listeners": [{
            "port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
            "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
        }],
        "database": {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}},
        "log_config": str(log_config),
        "media_store_path": str(workdir / "media_store"),
        "signing_key_path": str(workdir / "signing.key"),
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "report_stats": False,
        "enable_registration": False,
        "registration_shared_secret": secret,
        "federation_domain_whitelist": [],
        "url_preview_enabled": False,
        # Tests make rooms and send quickly.
        "rc_message": {"per_second": 1000, "burst_count": 1000},
        "rc_joins": {"local": {"per_second": 1000, "burst_count": 1000}},
        "rc_invites": {"per_room": {"per_second": 1000, "burst_count": 1000},
                       "per_user": {"per_second": 1000, "burst_count": 1000}},
        "rc_registration": {"per_second": 1000, "burst_count": 1000},
        "rc_login": {"address": {"per_second": 1000, "burst_count": 1000},
                     "account": {"per_second": 1000, "burst_count": 1000}},
        **extra,
    }, indent=2))
    subprocess.run([sys.executable, "-m", "synapse.app.homeserver", "-c", str(config),
                    "--generate-keys"], check=True, capture_output=True, timeout=120)
    with open(workdir / "stdout.log", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=workdir)

    def stop(*_):
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"synapse exited with {proc.returncode}; see {workdir}/homeserver.log", file=sys.stderr)
            return 1
        try:
            if requests.get(f"http://127.0.0.1:{port}/_matrix/client/versions", timeout=2).ok:
                print(port, flush=True)
                break
        except requests.RequestException:
            pass
        time.sleep(0.25)
    else:
        print("synapse did not answer within 120 s", file=sys.stderr)
        stop()
    proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
