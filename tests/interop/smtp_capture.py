#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) on loopback that stores every received message as an .eml file.

Usage: smtp_capture.py OUTDIR [--port N] [--accept-any-auth]
  --port N            port on 127.0.0.1; default env SMTP_PORT or 0 (a free port)
  --accept-any-auth   advertise AUTH PLAIN/LOGIN without TLS and accept any credentials
                      (for clients configured with a username/password)

The first line on stdout is the bound port number (so port 0 can be used), printed once the
server accepts connections. Each message is written atomically (temp file + rename) to
OUTDIR/NNNN-<epoch ms>.eml: the raw DATA bytes, preceded by X-Envelope-From and X-Envelope-To
headers. Runs until SIGTERM/SIGINT. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import sys
import time
import warnings
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult


class Capture:
    def __init__(self, outdir: Path):
        self.outdir = outdir
        self.seq = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.seq)
        name = f"{n:04d}-{int(time.time() * 1000)}.eml"
        head = (f"X-Envelope-From: {envelope.mail_from}\r\n"
                f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        tmp = self.outdir / f".{name}.tmp"
        tmp.write_bytes(head + envelope.original_content)
        os.replace(tmp, self.outdir / name)
        return "250 Message accepted for delivery"


# aiosmtpd warns about its own internal use of a deprecated attribute when AUTH is on.
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")


def accept_any(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True)


async def serve(outdir: Path, port: int, any_auth: bool) -> None:
    handler = Capture(outdir)
    kwargs = {"enable_SMTPUTF8": True, "hostname": "smtp-capture.localhost"}
    if any_auth:
        kwargs.update(authenticator=accept_any, auth_require_tls=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **kwargs), host="127.0.0.1", port=port)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--port", type=int, default=int(os.environ.get("SMTP_PORT", "0")))
    ap.add_argument("--accept-any-auth", action="store_true")
    args = ap.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.outdir, args.port, args.accept_any_auth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
