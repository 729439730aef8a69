#!/bin/sh
# User networks and published ports: POST /networks/create (and an overlapping subnet: 400),
# GET /networks with a name filter, a container on the network with a published port
# (NetworkSettings in inspect, fetched with curl from the host), GET /networks/{id} with its
# Containers, DELETE /networks/{id} while in use (409) and after.
# Usage: networks.sh [NAME]   (default demo-net; DEMO_PORT, default 8080, is the host port and
# DEMO_SUBNET, default 10.99.77.0/24, the subnet)
# Expected: networks.out. Needs a running rdockerd with busybox pulled and jq; RDOCKER_SOCK
# overrides the socket path. Traffic: 127.0.0.1 only.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
API=http://localhost/v${RDOCKER_API_VERSION:-1.47}
NAME=${1:-demo-net}
PORT=${DEMO_PORT:-8080}
SUBNET=${DEMO_SUBNET:-10.99.77.0/24}
c() { curl -sS --unix-socket "$SOCK" "$@"; }
post() { c -X POST -H 'Content-Type: application/json' "$@"; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

echo "== POST /networks/create"
post -d "{\"Name\":\"$NAME\",\"Labels\":{\"demo\":\"yes\"},\"IPAM\":{\"Config\":[{\"Subnet\":\"$SUBNET\"}]}}" \
    -o "$tmp" -w 'HTTP %{http_code}\n' "$API/networks/create"
jq -c . "$tmp"
echo "== POST /networks/create with the same subnet"
post -d "{\"Name\":\"$NAME-2\",\"IPAM\":{\"Config\":[{\"Subnet\":\"$SUBNET\"}]}}" \
    -o "$tmp" -w 'HTTP %{http_code}\n' "$API/networks/create"
jq -c . "$tmp"
echo "== GET /networks?filters={\"name\":[\"$NAME\"]}"
c -G --data-urlencode "filters={\"name\":[\"$NAME\"]}" "$API/networks" |
    jq -c '[.[] | {Name, Driver, Scope, Internal, IPAM: {Config: .IPAM.Config}, Labels}]'

echo "== a container on $NAME publishing 80/tcp on 127.0.0.1:<port> (create, start)"
ID=$(post -d "{\"Image\":\"busybox\",\"Cmd\":[\"sh\",\"-c\",\"mkdir /www && echo hello from $NAME > /www/index.html && exec httpd -f -p 80 -h /www\"],
  \"ExposedPorts\":{\"80/tcp\":{}},
  \"HostConfig\":{\"NetworkMode\":\"$NAME\",\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$PORT\"}]}}}" \
    "$API/containers/create?name=$NAME-web" | jq -r .Id)
post -w 'HTTP %{http_code}\n' "$API/containers/$ID/start"
echo "== GET /containers/$NAME-web/json: NetworkSettings"
c "$API/containers/$NAME-web/json" | jq -c --arg p "$PORT" '.NetworkSettings |
    {Ports: (.Ports | map_values(map(.HostPort |= (if . == $p then "<port>" else . end)))),
     Networks: (.Networks | map_values({IPAddress, Gateway, IPPrefixLen, MacAddress, Aliases,
       DNSNames: (.DNSNames | map(if test("^[0-9a-f]{12}$") then "<short id>" else . end))}))}'
echo "== curl http://127.0.0.1:<port>/"
i=0
until body=$(curl -s --noproxy '*' --max-time 2 "http://127.0.0.1:$PORT/") && [ -n "$body" ]; do
    i=$((i + 1)); [ $i -lt 50 ] || break; sleep 0.2
done
echo "$body"
echo "== GET /networks/$NAME: Containers"
c "$API/networks/$NAME" | jq -c '.Containers | map_values({Name, IPv4Address, MacAddress})'
echo "== DELETE /networks/$NAME while in use"
c -X DELETE -o "$tmp" -w 'HTTP %{http_code}\n' "$API/networks/$NAME"
jq -c . "$tmp"
echo "== DELETE the container, then the network"
c -X DELETE -w 'HTTP %{http_code}\n' "$API/containers/$ID?force=1"
c -X DELETE -w 'HTTP %{http_code}\n' "$API/networks/$NAME"
c -o "$tmp" -w 'then GET /networks/{id}: HTTP %{http_code}\n' "$API/networks/$NAME"
jq -c . "$tmp"
