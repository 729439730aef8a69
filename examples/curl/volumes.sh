#!/bin/sh
# Named volumes: POST /volumes/create, GET /volumes (with a name filter), GET /volumes/{name},
# a container writing into the volume, DELETE /volumes/{name} while in use (409) and after.
# Usage: volumes.sh [NAME]   (default demo-vol)
# Expected: volumes.out. Needs a running rdockerd with busybox pulled and jq; RDOCKER_SOCK
# overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
API=http://localhost/v${RDOCKER_API_VERSION:-1.47}
NAME=${1:-demo-vol}
c() { curl -sS --unix-socket "$SOCK" "$@"; }
# Mountpoint under whatever data root the daemon has.
shape='{Name, Driver, Scope, Mountpoint: (.Mountpoint | sub(".*/volumes/"; ".../volumes/"))}'

echo "== POST /volumes/create"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
c -X POST -H 'Content-Type: application/json' -d "{\"Name\":\"$NAME\",\"Labels\":{\"demo\":\"yes\"}}" \
    -o "$tmp" -w 'HTTP %{http_code}\n' "$API/volumes/create"
jq -c "$shape + {Labels}" "$tmp"
echo "== GET /volumes?filters={\"name\":[\"$NAME\"]}"
c -G --data-urlencode "filters={\"name\":[\"$NAME\"]}" "$API/volumes" | jq -c "[.Volumes[] | $shape]"
echo "== GET /volumes/$NAME"
c "$API/volumes/$NAME" | jq -c "$shape"

echo "== a container writes into it (create with Binds [\"$NAME:/data\"], start, wait)"
ID=$(c -X POST -H 'Content-Type: application/json' \
    -d "{\"Image\":\"busybox\",\"Cmd\":[\"sh\",\"-c\",\"echo kept > /data/f\"],\"HostConfig\":{\"Binds\":[\"$NAME:/data\"],\"NetworkMode\":\"none\"}}" \
    "$API/containers/create" | jq -r .Id)
c -X POST "$API/containers/$ID/start"
c -X POST "$API/containers/$ID/wait"
echo "== DELETE /volumes/$NAME while a container uses it"
c -X DELETE -o "$tmp" -w 'HTTP %{http_code}\n' "$API/volumes/$NAME"
jq -c . "$tmp"
c -X DELETE "$API/containers/$ID"
echo "== DELETE /volumes/$NAME"
c -X DELETE -w 'HTTP %{http_code}\n' "$API/volumes/$NAME"
c -o /dev/null -w 'then GET /volumes/{name}: HTTP %{http_code}\n' "$API/volumes/$NAME"
