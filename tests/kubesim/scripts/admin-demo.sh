#!/usr/bin/env bash
# Starts the kubesim binary with its admin endpoint, injects faults from the shell and reads the
# request log: what a benchmark or a person can do without Rust (README, "Admin endpoint").
# Needs curl. Usage: admin-demo.sh PATH-TO-KUBESIM   (exit 0 when every check held)
set -euo pipefail
kubesim=${1:?usage: admin-demo.sh PATH-TO-KUBESIM}
work=$(mktemp -d)
"$kubesim" --admin-port 0 --time-scale 10 >"$work/out" 2>"$work/err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# The first line of stdout is the admin kubeconfig, the second the admin endpoint's URL.
for _ in $(seq 100); do
  [ "$(wc -l <"$work/out")" -ge 2 ] && break
  sleep 0.1
done
kubeconfig=$(sed -n 1p "$work/out")
admin=$(sed -n 2p "$work/out")
[ -n "$admin" ] || { echo "no admin URL on stdout; stderr: $(cat "$work/err")" >&2; exit 1; }

# The API server's address, CA and token, from the kubeconfig.
server=$(awk '/server:/ {print $2}' "$kubeconfig")
awk '/certificate-authority-data:/ {print $2}' "$kubeconfig" | base64 -d >"$work/ca.pem"
token=$(awk '/token:/ {print $2}' "$kubeconfig")
api() { curl -sS -o /dev/null -w '%{http_code}' --cacert "$work/ca.pem" -H "Authorization: Bearer $token" "$server$1"; }
post() { curl -fsS -X POST "$admin$1" -H 'Content-Type: application/json' -d "${2:-{\}}" >/dev/null; }
check() { # check WHAT EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected $2, got $3" >&2; exit 1; fi
  echo "ok: $1"
}

check "the API server answers" 200 "$(api /api/v1/namespaces/default/configmaps)"

# A fault: the next two GETs of configmaps fail with 500, the third is served.
post /faults/fail '{"method": "GET", "path": "/configmaps", "status": 500, "times": 2}'
check "first injected failure" 500 "$(api /api/v1/namespaces/default/configmaps)"
check "second injected failure" 500 "$(api /api/v1/namespaces/default/configmaps)"
check "served again" 200 "$(api /api/v1/namespaces/default/configmaps)"

# The request log shows them, with their status.
log=$(curl -fsS "$admin/requests")
failed=$(printf '%s' "$log" | grep -o '"path":"/api/v1/namespaces/default/configmaps","query":"","status":500' | wc -l)
check "the request log records both 500s" 2 "$failed"

# A denied verb: 403 for that user.
post /faults/deny '{"user": "kubernetes-admin", "verb": "list", "resource": "pods"}'
check "list pods denied" 403 "$(api /api/v1/namespaces/default/pods)"
post /faults/clear
check "allowed after clear" 200 "$(api /api/v1/namespaces/default/pods)"

# Stop serving: connections are refused; start again on the same port.
post /server/stop
check "stopped: no answer" 000 "$(api /version 2>/dev/null || true)"
post /server/start
check "serving again" 200 "$(api /version)"

# Clearing the log.
curl -fsS -X DELETE "$admin/requests" >/dev/null
check "log cleared" '{"next":0,"requests":[]}' "$(curl -fsS "$admin/requests" | tr -d '\n ')"
echo "admin endpoint: all checks passed"
