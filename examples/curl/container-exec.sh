#!/bin/sh
# A detached container and an exec into it: POST /containers/create + start (like
# `docker run -d`), GET /containers/json?filters=…, POST /containers/{id}/exec,
# POST /exec/{id}/start without an Upgrade header (old clients do that: rdockerd hijacks the
# connection all the same, as dockerd does, and streams the multiplexed output until the end), GET /exec/{id}/json, POST /containers/{id}/kill,
# POST /containers/{id}/wait, DELETE /containers/{id}.
# Usage: container-exec.sh [IMAGE]     (default busybox; the container runs `sleep 300`)
# Expected: container-exec.out. Needs a running rdockerd with the image pulled, jq and od;
# RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
API=http://localhost/v${RDOCKER_API_VERSION:-1.47}
IMAGE=${1:-busybox}
c() { curl -sS --unix-socket "$SOCK" "$@"; }
json() { c -X POST -H 'Content-Type: application/json' -d "$1" "$API$2"; }

echo "== POST /containers/create?name=exec-demo + POST /containers/{id}/start"
ID=$(json "{\"Image\":\"$IMAGE\",\"Cmd\":[\"sleep\",\"300\"],\"HostConfig\":{\"NetworkMode\":\"none\"}}" \
    "/containers/create?name=exec-demo" | jq -r .Id)
c -X POST -w 'HTTP %{http_code}\n' "$API/containers/$ID/start"

echo "== GET /containers/json?filters={\"name\":[\"exec-demo\"]}"
c -G --data-urlencode 'filters={"name":["exec-demo"]}' "$API/containers/json" |
    jq -c '.[] | {Names, Image, Command, State}'

echo "== POST /containers/{id}/exec"
EXEC=$(json '{"Cmd":["sh","-c","echo hi from exec; sleep 0.2; echo oops >&2; exit 5"],"AttachStdout":true,"AttachStderr":true}' \
    "/containers/$ID/exec" | jq -r .Id)
echo "exec id: ${#EXEC} hex digits"

echo "== POST /exec/{id}/start (no Upgrade header): the multiplexed stream (od -c)"
json '{"Detach":false,"Tty":false}' "/exec/$EXEC/start" | od -An -c

echo "== GET /exec/{id}/json"
c "$API/exec/$EXEC/json" | jq -c '{Running, ExitCode, ProcessConfig: .ProcessConfig.entrypoint}'

echo "== POST /containers/{id}/kill?signal=KILL, then /wait"
c -X POST -w 'HTTP %{http_code}\n' "$API/containers/$ID/kill?signal=KILL"
c -X POST "$API/containers/$ID/wait"
echo "== DELETE /containers/{id}"
c -X DELETE -w 'HTTP %{http_code}\n' "$API/containers/$ID"
