#!/bin/sh
# GET /_ping (and HEAD): "OK", plus the headers clients negotiate with. Expected: ping.out
# Needs a running rdockerd; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
curl -sS --unix-socket "$SOCK" -i http://localhost/_ping | grep -iv '^date:'
echo
curl -sS --unix-socket "$SOCK" -I http://localhost/v1.47/_ping | grep -i -e '^HTTP' -e '^api-version'
