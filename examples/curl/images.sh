#!/bin/sh
# GET /images/json[?filters=...]. Usage: images.sh [FILTERS_JSON]
#   images.sh '{"reference":{"busybox":true}}'    images.sh '{"dangling":["true"]}'
# Expected: images.out
# Needs a running rdockerd; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
if [ $# -gt 0 ]; then
  curl -sS --unix-socket "$SOCK" -G --data-urlencode "filters=$1" http://localhost/v1.47/images/json
else
  curl -sS --unix-socket "$SOCK" http://localhost/v1.47/images/json
fi
echo
