#!/bin/sh
# GET /images/{name}/json; the name may contain slashes. Usage: inspect.sh [NAME]
# Expected: inspect.out, and for an unknown name: 404 {"message":"No such image: nosuch:latest"}
# Needs a running rdockerd; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
curl -sS --unix-socket "$SOCK" -w '\nHTTP %{http_code}\n' "http://localhost/v1.47/images/${1:-busybox}/json"
