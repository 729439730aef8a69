#!/bin/sh
# POST /images/{name}/tag?repo=REPO&tag=TAG → 201 with an empty body.
# Usage: tag.sh [SOURCE] [REPO] [TAG]   Expected: tag.out
# Needs a running rdockerd; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
curl -sS --unix-socket "$SOCK" -X POST -w 'HTTP %{http_code}\n' -G \
  --data-urlencode "repo=${2:-mybox}" --data-urlencode "tag=${3:-1}" \
  "http://localhost/v1.47/images/${1:-busybox}/tag"
