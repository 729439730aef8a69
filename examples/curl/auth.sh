#!/bin/sh
# POST /auth: checks credentials against a registry (docker login).
# Usage: auth.sh USER PASSWORD [SERVER]   e.g. auth.sh testuser testpassword http://127.0.0.1:5001
# Expected: auth.out (200 {"Status":"Login Succeeded","IdentityToken":""}; 401 on bad credentials)
# Needs a running rdockerd; RDOCKER_SOCK overrides the socket path.
set -eu
SOCK=${RDOCKER_SOCK:-/run/rdocker/rdocker.sock}
curl -sS --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' -w '\nHTTP %{http_code}\n' \
  -d "$(printf '{"username":"%s","password":"%s","serveraddress":"%s"}' "${1:-}" "${2:-}" "${3:-https://index.docker.io/v1/}")" \
  http://localhost/v1.47/auth
