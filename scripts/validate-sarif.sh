#!/usr/bin/env bash
# Validates SARIF files with the Microsoft SARIF Multitool and GitHub's ingestion rules
# (`validate --rule-kind "Gh;Sarif"`). Fails when any file has a result of level `error`.
#
#   scripts/validate-sarif.sh FILE.sarif...
#
# The Multitool always exits 0 and writes its verdicts into a SARIF file of its own, so this script
# reads that file. It installs the pinned Multitool from npm when it is missing.
#
# Environment:
#   SARIF_MULTITOOL          path to an installed Sarif.Multitool binary (skips the install)
#   SARIF_MULTITOOL_DIR      npm prefix to install into (default: ~/.cache/dockershim-audit/sarif-multitool)
#   SARIF_MULTITOOL_VERSION  npm version to install (default below)
#   SARIF_SHOW_WARNINGS=1    also list every warning (they never fail the run)
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 FILE.sarif..." >&2
    exit 2
fi

version="${SARIF_MULTITOOL_VERSION:-5.7.0}"
dir="${SARIF_MULTITOOL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dockershim-audit/sarif-multitool-$version}"
tool="${SARIF_MULTITOOL:-$dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool}"

if [ ! -e "$tool" ]; then
    command -v npm >/dev/null || { echo "validate-sarif: npm is needed to install @microsoft/sarif-multitool" >&2; exit 2; }
    echo "validate-sarif: installing @microsoft/sarif-multitool@$version into $dir" >&2
    mkdir -p "$dir"
    npm install --no-save --no-audit --no-fund --prefix "$dir" "@microsoft/sarif-multitool@$version" >&2
fi
# npm may not run the package's postinstall `chmod`.
[ -x "$tool" ] || chmod u+x "$tool"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
n=0
for file in "$@"; do
    n=$((n + 1))
    if [ ! -s "$file" ]; then
        echo "validate-sarif: $file: missing or empty" >&2
        status=1
        continue
    fi
    out="$work/$n.sarif"
    # The console output repeats what the output file says; keep it for a crash.
    if ! "$tool" validate "$file" --rule-kind "Gh;Sarif" -o "$out" >"$work/$n.log" 2>&1 || [ ! -s "$out" ]; then
        echo "validate-sarif: $file: the Multitool did not produce a verdict:" >&2
        cat "$work/$n.log" >&2
        status=1
        continue
    fi
    if ! python3 - "$file" "$out" <<'PY'; then
import json, os, sys

target, verdict = sys.argv[1], sys.argv[2]
with open(verdict, encoding="utf-8") as fh:
    log = json.load(fh)
errors, warnings, notes = [], [], []
for run in log.get("runs", []):
    rules = run.get("tool", {}).get("driver", {}).get("rules", [])
    for res in run.get("results", []):
        level = res.get("level", "warning")
        msg = res.get("message", {})
        text = msg.get("text")
        if not text:
            # Messages are templates in the rule's messageStrings, filled with arguments.
            idx = res.get("ruleIndex")
            rule = rules[idx] if isinstance(idx, int) and idx < len(rules) else {}
            template = rule.get("messageStrings", {}).get(msg.get("id", ""), {}).get("text", "")
            args = msg.get("arguments", [])
            text = template
            for i, a in enumerate(args):
                text = text.replace("{%d}" % i, str(a))
            text = text or " ".join(map(str, args))
        line = ""
        for loc in res.get("locations", []):
            region = loc.get("physicalLocation", {}).get("region", {})
            if "startLine" in region:
                line = "(%s,%s)" % (region.get("startLine"), region.get("startColumn", 1))
                break
        entry = "%s%s: %s %s: %s" % (target, line, level, res.get("ruleId", "?"), text)
        {"error": errors, "warning": warnings}.get(level, notes).append(entry)
for e in errors:
    print(e)
if os.environ.get("SARIF_SHOW_WARNINGS") == "1":
    for w in warnings:
        print(w)
print("validate-sarif: %s: %d error(s), %d warning(s), %d note(s)" % (target, len(errors), len(warnings), len(notes)))
sys.exit(1 if errors else 0)
PY
        status=1
    fi
done
exit "$status"
