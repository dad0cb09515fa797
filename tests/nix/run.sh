#!/usr/bin/env bash
# Evaluate the Cooperage flake and NixOS modules offline with nix-check
# (../shared/nix-check, beside the repository) and check what they produce:
#
#   1. every .nix file of the repository parses;
#   2. the positive checks (demo-server.nix, variants.nix, flake-check.nix,
#      till.nix: hosts/till-pi, hosts/till-pc and till variants) evaluate and
#      all their named tests pass;
#   3. every configuration in negative/ fails, with the message its
#      `# expect:` line names (an assertion, or a type error);
#   4. tests/fixtures/demo-server-cooperage.json and till-pi-till.json are what
#      the modules render for hosts/demo-server and hosts/till-pi (regenerated
#      and compared; coop-pos's tests give the till's to `coop-pos till check-config`);
#   5. the option references in docs/operators.md and docs/tills.md match the
#      declarations.
#
# usage: tests/nix/run.sh            check everything
#        tests/nix/run.sh --update   rewrite the fixture and the option reference first
#
# Needs nix-instantiate (Debian: apt-get install nix-bin); nixpkgs' lib ships
# with nix-check. Without nix-instantiate it prints SKIPPED and exits 0, except
# under CI=true, where that is a failure. Anything else that goes wrong is a
# failure (exit 1).
set -euo pipefail

update=false
case "${1:-}" in
  "") ;;
  --update) update=true ;;
  *)
    echo "usage: $0 [--update]" >&2
    exit 2
    ;;
esac

root="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
nixcheck="$root/../shared/nix-check/nix-check"
here="$root/tests/nix"
fixture="$root/tests/fixtures/demo-server-cooperage.json"
till_fixture="$root/tests/fixtures/till-pi-till.json"
operators="$root/docs/operators.md"
tills="$root/docs/tills.md"

# ---- prerequisites ------------------------------------------------------------
# nixpkgs' lib ships beside nix-check (../shared/nix-check/nixpkgs-lib), so only
# nix-instantiate can be missing. Under CI that is a failure, never a silent skip.
if ! command -v nix-instantiate >/dev/null 2>&1; then
  if [[ "${CI:-}" == "true" ]]; then
    echo "FAILED: nix-instantiate is not installed (Debian: apt-get install nix-bin); CI must run the Nix checks." >&2
    exit 1
  fi
  echo "SKIPPED: nix-instantiate is not installed (Debian: apt-get install nix-bin); the Nix checks did not run."
  exit 0
fi
if [[ ! -x "$nixcheck" ]]; then
  echo "FAILED: nix-check is not at $nixcheck (it lives in shared/, beside the repository)" >&2
  exit 1
fi
command -v python3 >/dev/null 2>&1 || { echo "FAILED: python3 is needed to read nix-check's output" >&2; exit 1; }

passed=0
failed=0
ok() {
  passed=$((passed + 1))
  echo "ok    $1"
}
not_ok() {
  failed=$((failed + 1))
  echo "FAIL  $1"
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# ---- 1. every .nix file parses --------------------------------------------------
while IFS= read -r -d '' f; do
  if nix-instantiate --parse "$root/$f" >/dev/null 2>"$tmp/parse.err"; then
    ok "parses: $f"
  else
    not_ok "parses: $f"
    sed 's/^/      /' "$tmp/parse.err"
  fi
done < <(git -C "$root" ls-files -z --cached --others --exclude-standard -- '*.nix')

# ---- 4./5. regenerate the fixture and the option reference ---------------------
# render_fixture NAME: what tests/nix/NAME.nix prints, as the fixture is written
render_fixture() {
  "$nixcheck" "$here/$1.nix" 2>"$tmp/$1.err" \
    | python3 -c 'import json, sys; json.dump(json.load(sys.stdin), sys.stdout, indent=2, ensure_ascii=False, sort_keys=True); print()'
}
# render_options NAME: the Markdown option reference tests/nix/NAME.nix declares
render_options() {
  "$nixcheck" "$here/$1.nix" 2>"$tmp/$1.err" | python3 "$here/render-options.py"
}
if $update; then
  render_fixture fixture >"$fixture.new" && mv "$fixture.new" "$fixture"
  render_fixture till-fixture >"$till_fixture.new" && mv "$till_fixture.new" "$till_fixture"
  for pair in "options:$operators" "till-options:$tills"; do
    "$nixcheck" "$here/${pair%%:*}.nix" 2>"$tmp/options.err" >"$tmp/options.json"
    python3 "$here/render-options.py" --into "${pair#*:}" <"$tmp/options.json"
  done
  echo "updated $fixture, $till_fixture and the option references in $operators and $tills"
fi

# ---- 2. positive checks -----------------------------------------------------------
# Print each named test of a nix-check result (or of a set of results).
report_tests() {
  python3 - "$1" "$2" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
label = sys.argv[2]
results = {label: data} if "tests" in data else {f"{label} {k}": v for k, v in data.items()}
for name, result in sorted(results.items()):
    for test, passed in sorted(result["tests"].items()):
        print(("ok    " if passed else "FAIL  ") + f"{name}: {test}")
    for warning in result.get("warnings", []):
        print(f"FAIL  {name}: warning: {warning}")
PY
}
for check in demo-server variants flake-check till; do
  if "$nixcheck" "$here/$check.nix" >"$tmp/$check.json" 2>"$tmp/$check.err"; then
    while IFS= read -r line; do
      case "$line" in
        ok*) passed=$((passed + 1)) ;;
        *) failed=$((failed + 1)) ;;
      esac
      echo "$line"
    done < <(report_tests "$tmp/$check.json" "$check")
  else
    not_ok "$check.nix evaluates and its tests pass"
    grep -v '^trace: ' "$tmp/$check.err" | sed 's/^/      /'
  fi
done

# ---- 3. negative checks -------------------------------------------------------------
for f in "$here"/negative/*.nix; do
  name="$(basename "$f" .nix)"
  expect="$(sed -n '1s/^# expect: //p' "$f")"
  [[ -n "$expect" ]] || continue # base.nix, eval.nix, till-eval.nix: shared parts
  if "$nixcheck" "$f" >/dev/null 2>"$tmp/neg.err"; then
    not_ok "negative/$name fails to evaluate (it evaluated)"
  elif grep -qF -- "$expect" "$tmp/neg.err"; then
    ok "negative/$name fails with: $expect"
  else
    not_ok "negative/$name fails with: $expect"
    sed 's/^/      /' "$tmp/neg.err"
  fi
done

# ---- 4. the fixtures -------------------------------------------------------------------
for pair in "fixture:$fixture" "till-fixture:$till_fixture"; do
  name="${pair%%:*}" file="${pair#*:}"
  rel="${file#"$root"/}"
  if render_fixture "$name" >"$tmp/$name.json"; then
    if diff -u "$file" "$tmp/$name.json" >"$tmp/$name.diff"; then
      ok "$rel is what the module renders"
    else
      not_ok "$rel is what the module renders (run tests/nix/run.sh --update)"
      sed 's/^/      /' "$tmp/$name.diff"
    fi
  else
    not_ok "tests/nix/$name.nix evaluates"
    sed 's/^/      /' "$tmp/$name.err"
  fi
done

# ---- 5. the option references ------------------------------------------------------------
options_up_to_date() {
  python3 - "$1" "$2" <<'PY'
import difflib, sys
doc = open(sys.argv[1], encoding="utf-8").read()
begin = "<!-- BEGIN OPTIONS (generated by tests/nix/run.sh --update; do not edit) -->"
end = "<!-- END OPTIONS -->"
if begin not in doc or end not in doc:
    print(f"{sys.argv[1]} has no {begin} ... {end} section")
    sys.exit(1)
current = doc[doc.index(begin) + len(begin):doc.index(end)].strip("\n")
wanted = open(sys.argv[2], encoding="utf-8").read().strip("\n")
if current != wanted:
    sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), wanted.splitlines(True), sys.argv[1], "declarations"))
    sys.exit(1)
PY
}
for pair in "options:$operators" "till-options:$tills"; do
  name="${pair%%:*}" doc="${pair#*:}"
  rel="${doc#"$root"/}"
  if render_options "$name" >"$tmp/$name.md"; then
    if options_up_to_date "$doc" "$tmp/$name.md" >"$tmp/$name.diff"; then
      ok "$rel's option reference matches the declarations"
    else
      not_ok "$rel's option reference matches the declarations (run tests/nix/run.sh --update)"
      sed 's/^/      /' "$tmp/$name.diff"
    fi
  else
    not_ok "tests/nix/$name.nix evaluates"
    sed 's/^/      /' "$tmp/$name.err"
  fi
done

echo
echo "nix-check: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
