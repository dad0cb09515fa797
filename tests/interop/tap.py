"""The harnesses' shared output: `ok - <check>` / `not ok - <check>: <reason>` lines and a
final `N passed, M failed` line; exit status 1 when anything failed (or nothing ran)."""

from __future__ import annotations

import sys


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name: str) -> None:
        self.passed += 1
        print(f"ok - {name}", flush=True)

    def not_ok(self, name: str, reason) -> None:
        self.failed += 1
        reason = " ".join(str(reason).split())
        print(f"not ok - {name}: {reason}", flush=True)

    def check(self, name: str, fn, *args, **kwargs):
        """Runs fn; an exception is a failure. Returns fn's result (None on failure)."""
        try:
            value = fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - every failure is reported, not raised
            self.not_ok(name, f"{type(e).__name__}: {e}")
            return None
        self.ok(name)
        return True if value is None else value

    def finish(self) -> int:
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed or not self.passed else 0


def require_env(environ, names: list[str], prog: str) -> None:
    missing = [n for n in names if not environ.get(n)]
    if missing:
        print(f"{prog}: missing env {', '.join(missing)}", file=sys.stderr)
        sys.exit(2)
