#!/bin/sh
# GET /images/{name}/history. Usage: history.sh [NAME]   Expected: history.out
# Needs a running rdockerd; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
curl -sS --unix-socket "$SOCK" -w '\nHTTP %{http_code}\n' "http://localhost/v1.47/images/${1:-busybox}/history"
