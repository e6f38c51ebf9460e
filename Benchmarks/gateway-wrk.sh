#!/usr/bin/env bash
# Gateway benchmark (issue 3): wrk over HTTPS, 64 connections, GET /v1/accounts/{id} with a valid token, beside a bare
# Hummingbird HTTPS endpoint returning a JSON body of the same size (the ceiling), in the same run; then
# client_credentials token issuance. Needs wrk (apt-get install wrk). Usage: Benchmarks/gateway-wrk.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds=${1:-15}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }

swift build -c release --product biz-retail >&2
swift build -c release --product biz-bench >&2
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$bin/biz-retail" serve --data-dir "$work/data" --https-port 18443 --grpc-port 15051 --log-level warning \
  > "$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -f "$work/data/endpoints.json" ] && grep -q https "$work/data/endpoints.json" && break; sleep 0.2; done
ca="$work/data/tls/cert.pem"
api=https://127.0.0.1:18443
read -r email password client secret < <(python3 -c "import json; d=json.load(open('$work/data/bootstrap-credentials.json')); print(d['admin_email'], d['admin_password'], d['client_id'], d['client_secret'])")
token=$(curl -s --cacert "$ca" -u "$client:$secret" -d grant_type=password -d "username=$email" -d "password=$password" \
  "$api/oauth2/token" | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
account=$(curl -s --cacert "$ca" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"Maria Silva","document_registry":"52998224725","email":"maria@example.com"}' "$api/v1/accounts")
id=$(echo "$account" | python3 -c "import json,sys; print(json.load(sys.stdin)['public_id'])")
bytes=$(curl -s --cacert "$ca" -H "Authorization: Bearer $token" "$api/v1/accounts/$id" | wc -c)

"$bin/biz-bench" bare-https --port 19443 --body-bytes "$bytes" --dir "$work/bare" > "$work/bare.log" 2>&1 &
pids+=($!)
sleep 1

run() { wrk -t2 -c64 -d"${seconds}s" --latency "$@" 2>&1; }
summarize() {
  local name=$1 output=$2
  local rps p99
  rps=$(echo "$output" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$output" | awk '$1 == "99%" {print $2}')
  local non2xx
  non2xx=$(echo "$output" | awk '/Non-2xx/ {print $5}')
  printf '  %-40s %10s req/s   p99 %8s   non-2xx %s\n' "$name" "$rps" "$p99" "${non2xx:-0}"
  echo "$rps"
}

echo "gateway benchmark: ${seconds}s per run, wrk -t2 -c64, ${bytes}-byte JSON body"
bare=$(run "https://127.0.0.1:19443/v1/accounts/$id")
gateway=$(run -H "Authorization: Bearer $token" "$api/v1/accounts/$id")
bare_rps=$(summarize "bare Hummingbird HTTPS (ceiling)" "$bare" | tail -1)
summarize "bare Hummingbird HTTPS (ceiling)" "$bare" | head -1
gateway_rps=$(summarize "gateway GET /v1/accounts/{id}" "$gateway" | tail -1)
summarize "gateway GET /v1/accounts/{id}" "$gateway" | head -1
python3 -c "print(f'  gateway / ceiling: {100*float($gateway_rps)/float($bare_rps):.0f} %')"

cat > "$work/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(printf '%s:%s' "$client" "$secret" | base64 -w0)"
LUA
tokens=$(wrk -t2 -c16 -d"${seconds}s" --latency -s "$work/token.lua" "$api/oauth2/token" 2>&1)
summarize "POST /oauth2/token (client_credentials)" "$tokens" | head -1
