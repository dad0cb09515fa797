#!/usr/bin/env python3
"""Reference bytes from python-escpos (PyPI) for a list of printer commands.

Reads a JSON list of ops on stdin, each one of:
  {"op": "init"} {"op": "codepage"} {"op": "text", "text": "..."} {"op": "bold", "on": bool}
  {"op": "align", "to": "left"|"center"|"right"} {"op": "large", "on": bool}
  {"op": "feed", "lines": n} {"op": "cut"} {"op": "drawer", "pin": 2|5}
  {"op": "code128", "data": "..."} {"op": "qr", "data": "..."}
and prints the bytes python-escpos's Dummy printer emits for the same calls, as hex.
"""

import contextlib
import json
import sys

from escpos.printer import Dummy


def main() -> int:
    ops = json.load(sys.stdin)
    p = Dummy()
    # python-escpos says things on stdout ("Using hardware barcode renderer"): stdout is for
    # the bytes only.
    with contextlib.redirect_stdout(sys.stderr):
        run(p, ops)
    sys.stdout.write(p.output.hex())
    return 0


def run(p, ops) -> None:
    for op in ops:
        kind = op["op"]
        if kind == "init":
            p.hw("INIT")
        elif kind == "codepage":
            p.charcode("CP858")
        elif kind == "text":
            p.text(op["text"])
        elif kind == "bold":
            p.set(bold=op["on"])
        elif kind == "align":
            p.set(align=op["to"])
        elif kind == "large":
            p.set(custom_size=True, width=2 if op["on"] else 1, height=2 if op["on"] else 1)
        elif kind == "feed":
            p.print_and_feed(op["lines"])
        elif kind == "cut":
            p.cut()
        elif kind == "drawer":
            p.cashdraw(op["pin"])
        elif kind == "code128":
            p.barcode("{B" + op["data"], "CODE128", function_type="B")
        elif kind == "qr":
            p.qr(op["data"], native=True, size=6, ec=1)
        else:
            raise SystemExit(f"unknown op {kind!r}")


if __name__ == "__main__":
    sys.exit(main())
