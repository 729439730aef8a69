#!/bin/sh
# POST /images/create?fromImage=IMAGE&tag=TAG: a pull, streamed as newline-delimited JSON.
# Usage: pull.sh [IMAGE] [TAG] [PLATFORM]   e.g. pull.sh 127.0.0.1:5000/busybox latest linux/amd64
# Credentials: REGISTRY_USER / REGISTRY_PASSWORD go in X-Registry-Auth (base64url JSON).
# Expected: pull.out (a fresh pull), pull-error.out (unknown tag: 404 before any progress).
# Needs a running rdockerd; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
IMAGE=${1:-busybox}
TAG=${2:-latest}
PLATFORM=${3:-}
AUTH=$(printf '{"username":"%s","password":"%s"}' "${REGISTRY_USER:-}" "${REGISTRY_PASSWORD:-}" | base64 -w0 | tr '+/' '-_')
curl -sS -N --unix-socket "$SOCK" -X POST -H "X-Registry-Auth: $AUTH" \
  -w '\nHTTP %{http_code}\n' \
  -G --data-urlencode "fromImage=$IMAGE" --data-urlencode "tag=$TAG" --data-urlencode "platform=$PLATFORM" \
  http://localhost/v1.47/images/create
