#!/bin/sh
# GET /distribution/{name}/json: manifest descriptor and platforms, asked of the registry.
# Usage: distribution.sh [NAME]   Expected: distribution.out
# Needs a running rdockerd; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
curl -sS --unix-socket "$SOCK" -w '\nHTTP %{http_code}\n' "http://localhost/v1.47/distribution/${1:-busybox}/json"
