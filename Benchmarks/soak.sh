#!/usr/bin/env bash
# Soak test of the embedded system (issue 9): for N minutes (default 10), at the same time,
#
#   - valid writes: two loops creating teams through the gateway, every acknowledged id kept;
#   - reads: wrk -t2 -c32 GET /v1/accounts/{id} (its p99 is the figure);
#   - bad requests: bodies over 1 MiB (413), malformed JSON (400), events over 128 KiB published by the operator CLI;
#   - slow clients: 40 connections that stay silent or trickle one byte a second, reconnecting when closed;
#   - every 30 s, 64 concurrent password logins (with the real bcrypt cost 12);
#
# then checks that every acknowledged write is in the audit trail. Needs wrk and python3. Prints one summary.
# Usage: Benchmarks/soak.sh [minutes]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
minutes=${1:-10}
seconds=$((minutes * 60))
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }

swift build -c release --product biz-retail >&2
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
# SOAK_KEEP=1 keeps the work directory (the data, the logs and the ids written) for a look afterwards.
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null
  if [ -n "${SOAK_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
"$bin/biz-retail" serve --data-dir "$work/data" --https-port "$port" --grpc-port 0 >"$work/serve.log" 2>&1 &
pids+=($!)
api="https://127.0.0.1:$port"
for _ in $(seq 300); do curl -ksf "$api/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done

read -r email password client secret < <(python3 -c "import json; d=json.load(open('$work/data/bootstrap-credentials.json')); print(d['admin_email'], d['admin_password'], d['client_id'], d['client_secret'])")
login() {
  curl -sk -u "$client:$secret" -d grant_type=password --data-urlencode "username=$email" \
    --data-urlencode "password=$password" "$api/oauth2/token"
}
token=$(login | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
auth="Authorization: Bearer $token"
account=$(curl -sk -H "$auth" -H 'Content-Type: application/json' \
  -d '{"name":"Maria Silva","document_registry":"52998224725","email":"maria@example.com"}' "$api/v1/accounts" |
  python3 -c "import json,sys; print(json.load(sys.stdin)['public_id'])")
end=$(($(date +%s) + seconds))

# Valid writes. Tokens last 15 minutes: each loop signs in again every 10.
writer() {
  local n=0 t="$token" renewed
  renewed=$(date +%s)
  while [ "$(date +%s)" -lt "$end" ]; do
    if [ $(($(date +%s) - renewed)) -gt 600 ]; then
      t=$(login | python3 -c "import json,sys; print(json.load(sys.stdin).get('access_token',''))") || true
      renewed=$(date +%s)
    fi
    n=$((n + 1))
    curl -sk -o "$work/w$1.body" -w '%{http_code}\n' -H "Authorization: Bearer $t" -H 'Content-Type: application/json' \
      -d "{\"name\":\"Soak $1-$n\"}" "$api/v1/teams" >"$work/w$1.status" || echo 000 >"$work/w$1.status"
    if [ "$(cat "$work/w$1.status")" = 201 ]; then
      python3 -c "import json; print(json.load(open('$work/w$1.body'))['public_id'])" >>"$work/acknowledged"
    else
      echo "$(cat "$work/w$1.status")" >>"$work/write-failures"
    fi
  done
}
writer 1 & pids+=($!)
writer 2 & pids+=($!)

# Bad requests.
python3 - "$work/event.json" <<'PY'
import json, sys, uuid
event = {
    "event_id": str(uuid.uuid4()), "producer_service": "soak", "producer_service_id": str(uuid.uuid4()),
    "trace_id": uuid.uuid4().hex, "timestamp": "2026-01-01T00:00:00.000Z", "event_type": "account.updated",
    "payload": {"public_id": str(uuid.uuid4()), "blob": "x" * 200_000},
    "metadata": {"owner_id": "soak", "owner_ip": "127.0.0.1", "owner_role": "admin", "owner_type": "user",
                 "event_schema_version": "1.0", "ownership_id": str(uuid.uuid4())},
}
json.dump(event, open(sys.argv[1], "w"))
PY
(
  big=$(python3 -c "print('{\"name\": \"' + 'x' * (1 << 21) + '\"}')")
  while [ "$(date +%s)" -lt "$end" ]; do
    echo "$big" | curl -sk -o /dev/null -w '%{http_code}\n' -H "$auth" -H 'Content-Type: application/json' \
      --data-binary @- "$api/v1/teams" >>"$work/oversized" || true
    curl -sk -o /dev/null -w '%{http_code}\n' -H "$auth" -H 'Content-Type: application/json' -d '{"name": ' \
      "$api/v1/teams" >>"$work/malformed" || true
    if "$bin/biz-retail" events publish "$work/event.json" --data-dir "$work/data" >/dev/null 2>&1; then
      echo "exit 0" >>"$work/oversized-events"
    else
      echo "exit $?" >>"$work/oversized-events"
    fi
    sleep 0.5
  done
) &
pids+=($!)

# Slow clients.
python3 - "$port" "$end" >"$work/slow" 2>&1 <<'PY' &
import socket, sys, time, threading
port, end = int(sys.argv[1]), int(sys.argv[2])
closed = [0]
def client(trickle):
    while time.time() < end:
        try:
            s = socket.create_connection(('127.0.0.1', port)); s.settimeout(1)
            while time.time() < end:
                if trickle: s.send(b'\x16')
                try:
                    if s.recv(1) == b'': break
                except socket.timeout:
                    pass
            closed[0] += 1; s.close()
        except OSError:
            closed[0] += 1; time.sleep(0.5)
threads = [threading.Thread(target=client, args=(i % 2 == 0,), daemon=True) for i in range(40)]
for t in threads: t.start()
for t in threads: t.join()
print(closed[0])
PY
pids+=($!)

# Bursts of 64 concurrent password logins.
(
  while [ "$(date +%s)" -lt "$end" ]; do
    seq 64 | xargs -P 64 -I{} curl -sk -o /dev/null -w '%{http_code}\n' -u "$client:$secret" -d grant_type=password \
      --data-urlencode "username=$email" --data-urlencode "password=$password" "$api/oauth2/token" >>"$work/logins" ||
      true
    sleep 30
  done
) &
pids+=($!)

# Reads, for the whole run.
wrk -t2 -c32 -d"${seconds}s" --latency -H "$auth" "$api/v1/accounts/$account" >"$work/wrk" 2>&1 || true
wait "${pids[@]:1}" 2>/dev/null || true

# Every acknowledged write audited?
acknowledged=$(grep -c . <(sort -u "$work/acknowledged"))
token=$(login | python3 -c "import json,sys; print(json.load(sys.stdin).get('access_token',''))")
python3 - "$api" "$token" "$work/acknowledged" >"$work/audit" <<'PY'
import json, ssl, sys, time, urllib.request
api, token, path = sys.argv[1:4]
wanted = set(open(path).read().split())
context = ssl._create_unverified_context()
deadline = time.time() + 120
while True:
    seen, page = set(), None
    while True:
        url = api + '/v1/audit/events?event_type=team.created&page_size=1000' + (f'&page_token={page}' if page else '')
        request = urllib.request.Request(url, headers={'Authorization': 'Bearer ' + token})
        body = json.load(urllib.request.urlopen(request, context=context))
        seen |= {item['payload']['public_id'] for item in body['items']}
        page = body.get('next_page_token')
        if not page: break
    missing = wanted - seen
    if not missing or time.time() > deadline: break
    time.sleep(2)
print(len(wanted - missing), len(missing))
open(path + '.missing', 'w').write('\n'.join(sorted(missing)))
PY
read -r audited missing <"$work/audit"
count() { [ -f "$1" ] && sort "$1" | uniq -c | awk '{printf "%s×%s ", $1, $2}'; }
echo "soak: $minutes min, embedded, release build"
echo "  writes acknowledged $acknowledged, audited $audited, missing $missing; failed writes: $(count "$work/write-failures")"
echo "  reads: $(awk '/Requests\/sec/ {print $2}' "$work/wrk") req/s, p50 $(awk '$1 == "50%" {print $2}' "$work/wrk"), p99 $(awk '$1 == "99%" {print $2}' "$work/wrk"), non-2xx $(awk '/Non-2xx/ {print $5}' "$work/wrk")"
echo "  oversized bodies: $(count "$work/oversized")"
echo "  malformed bodies: $(count "$work/malformed")"
echo "  operator events over 128 KiB: $(count "$work/oversized-events")"
echo "  password logins (bursts of 64): $(count "$work/logins")"
echo "  slow-client connections closed by the gateway: $(cat "$work/slow")"
echo "  process still up: $(curl -ksf "$api/health/live" >/dev/null && echo yes || echo no)"
