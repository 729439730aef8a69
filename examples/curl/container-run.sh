#!/bin/sh
# `docker run` step by step, as the docker CLI does it: POST /containers/create, a hijacked
# POST /containers/{id}/attach (101 UPGRADED, then stdout/stderr multiplexed in frames of an
# 8-byte header [stream, 0, 0, 0, big-endian length] + payload), POST /containers/{id}/wait
# (headers at once, the body at the exit), POST /containers/{id}/start, then
# GET /containers/{id}/logs and DELETE /containers/{id}.
# Usage: container-run.sh [IMAGE [CMD...]]
#   default: busybox sh -c 'echo out; sleep 0.2; echo err >&2; exit 3'
# Expected: container-run.out. Needs a running rdockerd with the image pulled (pull.sh), jq
# and od; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
API=http://localhost/v${RDOCKER_API_VERSION:-1.47}
IMAGE=${1:-busybox}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- sh -c 'echo out; sleep 0.2; echo err >&2; exit 3'
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

# Polls (up to 10 s) until a background curl has written the response headers to $1.
await_headers() {
    for _ in $(seq 100); do
        grep -q '^HTTP/' "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "no response headers in $1" >&2
    return 1
}
# The status line, then the headers that make the upgrade, names lowercased and sorted
# (HTTP header names are case-insensitive and unordered).
show_headers() {
    tr -d '\r' <"$1" | head -n1
    tr -d '\r' <"$1" | grep -i -e '^connection:' -e '^content-type:' -e '^upgrade:' |
        awk -F': ' '{ print tolower($1) ": " $2 }' | sort
}

echo "== POST /containers/create"
# One `--arg` per word: jq would take a "-c" among --args as its own option.
for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -sc --arg img "$IMAGE" '{Image: $img,
    Cmd: ., AttachStdout: true, AttachStderr: true, HostConfig: {NetworkMode: "none"}}' >"$tmp/body"
curl -sS --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
    --data-binary @"$tmp/body" -o "$tmp/create" -w 'HTTP %{http_code}\n' "$API/containers/create"
jq -c . "$tmp/create"
ID=$(jq -r .Id "$tmp/create")

echo "== POST /containers/{id}/attach?stream=1&stdout=1&stderr=1 (hijacked)"
curl -sS -N --unix-socket "$SOCK" -X POST -H 'Connection: Upgrade' -H 'Upgrade: tcp' \
    -D "$tmp/attach.h" -o "$tmp/attach" "$API/containers/$ID/attach?stream=1&stdout=1&stderr=1" &
attach=$!
await_headers "$tmp/attach.h"
show_headers "$tmp/attach.h"

echo "== POST /containers/{id}/wait?condition=next-exit (headers before the start)"
curl -sS -N --unix-socket "$SOCK" -X POST -D "$tmp/wait.h" -o "$tmp/wait" \
    "$API/containers/$ID/wait?condition=next-exit" &
waiter=$!
await_headers "$tmp/wait.h"
tr -d '\r' <"$tmp/wait.h" | head -n1

echo "== POST /containers/{id}/start"
curl -sS --unix-socket "$SOCK" -X POST -w 'HTTP %{http_code}\n' "$API/containers/$ID/start"

wait "$waiter"
echo "== wait answered"
cat "$tmp/wait"
wait "$attach"
echo "== the attach stream (od -c): frames of [stream 0 0 0 len32] + payload"
od -An -c "$tmp/attach"

echo "== GET /containers/{id}/logs?stdout=1&stderr=1"
curl -sS --unix-socket "$SOCK" "$API/containers/$ID/logs?stdout=1&stderr=1" | od -An -c

echo "== GET /containers/{id}/json: State"
curl -sS --unix-socket "$SOCK" "$API/containers/$ID/json" |
    jq -c '.State | {Status, Running, ExitCode, Pid}'

echo "== DELETE /containers/{id}"
curl -sS --unix-socket "$SOCK" -X DELETE -w 'HTTP %{http_code}\n' "$API/containers/$ID"
curl -sS --unix-socket "$SOCK" -o /dev/null -w 'then GET /containers/{id}/json: HTTP %{http_code}\n' \
    "$API/containers/$ID/json"
