#!/usr/bin/env bash
# Checks deploy/nanostream-broker.service with `systemd-analyze verify`.
#
#     deploy/verify-unit.sh [BINARY]
#
# BINARY (default: target/debug/nanostream-broker under the workspace root) stands in for
# ExecStart's /usr/local/bin/nanostream-broker, since verify checks that ExecStart's program
# exists: the unit is copied to a temporary directory with ExecStart pointing at BINARY, or at
# /bin/true if BINARY does not exist. Fails if verify fails or prints anything about the unit
# (an unknown key, a value it cannot parse, a missing program: verify exits 0 for some of
# these). Lines about other units on the machine are shown but do not fail the check.
# Where systemd-analyze is missing, prints that it skipped and exits 0.
set -euo pipefail

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze not available: skipped"
    exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
unit_name=nanostream-broker.service
unit="$here/$unit_name"
binary="${1:-$here/../target/debug/nanostream-broker}"

if [[ -f "$binary" && -x "$binary" ]]; then
    exec_start="$(realpath "$binary")"
else
    echo "note: $binary does not exist or is not executable; checking with ExecStart=/bin/true"
    exec_start=/bin/true
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=.*|ExecStart=$exec_start|" "$unit" >"$tmp/$unit_name"
if ! grep -qx "ExecStart=$exec_start" "$tmp/$unit_name"; then
    echo "error: no ExecStart= line to rewrite in $unit" >&2
    exit 1
fi

args=(verify --man=no)
version="$(systemd-analyze --version | awk 'NR == 1 { print $2 }')"
# From systemd 250 on, errors in units this one depends on (network-online.target, ...) are
# the machine's business, not this unit's.
if [[ "$version" =~ ^[0-9]+$ ]] && ((version >= 250)); then
    args+=(--recursive-errors=no)
fi

status=0
output="$(SYSTEMD_LOG_COLOR=0 systemd-analyze "${args[@]}" "$tmp/$unit_name" 2>&1)" || status=$?
[[ -n "$output" ]] && printf '%s\n' "$output"

about_unit="$(printf '%s\n' "$output" | grep -F "$unit_name" || true)"
if ((status != 0)) || [[ -n "$about_unit" ]]; then
    echo "FAIL: systemd-analyze verify (systemd $version, exit status $status) on $unit_name" >&2
    exit 1
fi
echo "ok: $unit_name verified by systemd-analyze (systemd $version, ExecStart=$exec_start)"
