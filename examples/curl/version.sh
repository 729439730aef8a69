#!/bin/sh
# GET /version. Expected: version.out (kernel and commit vary)
# Needs a running rdockerd; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
curl -sS --unix-socket "$SOCK" http://localhost/v1.47/version
echo
