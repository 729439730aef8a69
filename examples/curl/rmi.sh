#!/bin/sh
# DELETE /images/{name}[?force=1&noprune=1]. Usage: rmi.sh [NAME] [force]   Expected: rmi.out
# Needs a running rdockerd; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
FORCE=${2:+?force=1}
curl -sS --unix-socket "$SOCK" -X DELETE -w '\nHTTP %{http_code}\n' "http://localhost/v1.47/images/${1:-mybox:1}$FORCE"
