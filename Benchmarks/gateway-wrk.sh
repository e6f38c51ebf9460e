#!/usr/bin/env bash
# Gateway benchmark (issues 3 and 8), every figure beside its baseline measured in the same run:
#
#   embedded     `biz-retail serve` (services over the in-process gRPC transport) against a bare Hummingbird HTTPS
#                endpoint returning a JSON body of the same size (the ceiling);
#   distributed  `serve identity`, `serve team`, `serve gateway` as processes (HTTP/2 gRPC between them) against a
#                bare Hummingbird HTTPS endpoint that makes one bare grpc-swift unary call over loopback HTTP/2 to a
#                trivial service per request (the transport's own floor);
#
# each under wrk (HTTP/1.1 over TLS, -t2 -c64) and h2load (HTTP/2, 64 connections x 8 streams), GET
# /v1/accounts/{id} with a valid token; then client_credentials issuance. Needs wrk and h2load (apt-get install wrk
# nghttp2-client) and, for the distributed part, a Kafka endpoint (scripts/kafka start; the services' outboxes
# publish to it). `telemetry` measures the embedded gateway with telemetry off and on (issue 10; needs grpcio and
# opentelemetry-proto, and noida-db's Elasticsearch: scripts/elasticsearch start). `writes` measures POST
# /v1/cost-centers (each one asks the Client Contractor service over gRPC whether the tenant is active) against POST
# /v1/teams (no such call) as a tenant's admin, alternating for BIZ_BENCH_ROUNDS rounds (issue 11). `verify` measures
# what token verification adds per request (issue 12).
# `telemetry-paired` serves telemetry off and on at once, each under its own wrk (issue 10).
# Usage: Benchmarks/gateway-wrk.sh [seconds] [embedded|distributed|telemetry|telemetry-paired|writes|verify|all]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds=${1:-15}
which_parts=${2:-all}
for tool in wrk h2load; do
  command -v $tool >/dev/null || { echo "$tool not found: apt-get install wrk nghttp2-client" >&2; exit 1; }
done

swift build -c release --traits Kafka --product biz-retail >&2
swift build -c release --traits Kafka --product biz-bench >&2
bin=$(swift build -c release --traits Kafka --show-bin-path)
work=$(mktemp -d)
pids=()
others=() # started once for a whole part (the OTLP receiver)
cleanup() {
  for pid in "${pids[@]}" "${others[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

wait_for() { # file pattern
  for _ in $(seq 300); do [ -f "$1" ] && grep -q "$2" "$1" && return; sleep 0.2; done
  echo "timed out waiting for $2 in $1" >&2; exit 1
}

# Logs in with the bootstrap credentials in $1 through the gateway at $2, creates an account; sets token, id, bytes,
# and basic (the operator client's, beside $1).
prepare() {
  local credentials=$1 api=$2
  read -r email password client secret < <(python3 -c "import json; d=json.load(open('$credentials')); print(d['admin_email'], d['admin_password'], d['client_id'], d['client_secret'])")
  token=$(curl -sk -u "$client:$secret" -d grant_type=password -d "username=$email" -d "password=$password" \
    "$api/oauth2/token" | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
  local account
  account=$(curl -sk -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name":"Maria Silva","document_registry":"52998224725","email":"maria@example.com"}' "$api/v1/accounts")
  id=$(echo "$account" | python3 -c "import json,sys; print(json.load(sys.stdin)['public_id'])")
  bytes=$(curl -sk -H "Authorization: Bearer $token" "$api/v1/accounts/$id" | wc -c)
  # client_credentials is the operator's service client (the login client gets no token of its own).
  local operator
  operator=$(python3 -c "import json; d=json.load(open('$(dirname "$credentials")/operator-credentials.json')); print(d['client_id'] + ':' + d['client_secret'])")
  basic=$(printf '%s' "$operator" | base64 -w0)
}

# One wrk run: prints "name|rps|p99|non2xx" (p99 in ms).
wrk_run() { # name wrk-arguments...
  local name=$1 output rps p99 non2xx
  shift
  output=$(wrk -t2 -c64 -d"${seconds}s" --latency "$@" 2>&1)
  rps=$(echo "$output" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$output" | awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v=v/1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v=v*1000}; print v}')
  non2xx=$(echo "$output" | awk '/Non-2xx/ {print $5}')
  echo "$name|${rps:-0}|${p99:-0}|${non2xx:-0}"
}

measure_wrk() { # name url [header]
  if [ -n "${3:-}" ]; then wrk_run "$1" -H "$3" "$2"; else wrk_run "$1" "$2"; fi
}

measure_h2load() { # name url [header]
  local name=$1 url=$2 log="$work/h2load.log" output
  rm -f "$log"
  if [ -n "${3:-}" ]; then output=$(h2load -t2 -c64 -m8 -D "$seconds" --log-file="$log" -H "$3" "$url" 2>&1)
  else output=$(h2load -t2 -c64 -m8 -D "$seconds" --log-file="$log" "$url" 2>&1); fi
  local rps failed
  rps=$(echo "$output" | awk '/^finished in/ {print $4}')
  failed=$(echo "$output" | awk '/^status codes:/ {print $5+$7+$9}')
  local p99
  p99=$(python3 - "$log" <<'PY'
import sys
lat = sorted(int(line.split('\t')[2]) for line in open(sys.argv[1]) if line.strip())
print(f"{lat[int(len(lat) * 0.99) - 1] / 1000:.2f}" if lat else "0")
PY
)
  echo "$name|${rps:-0}|$p99|${failed:-0}"
}

# Runs a measurement against the server with process id $1 and appends its CPU time per request (us).
with_cpu_of() { # pid measure-function args...
  local pid=$1 before after line requests
  shift
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  line=$("$@")
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  IFS='|' read -r _ rps _ _ <<<"$line"
  requests=$(python3 -c "print(max(1, round(float('${rps:-0}') * $seconds)))")
  echo "$line|$(python3 -c "print(round(($after - $before) * 1e6 / $(getconf CLK_TCK) / $requests, 1))")"
}

# The same against the server started first (pids[0]).
with_cpu() { # measure-function args...
  with_cpu_of "${pids[0]}" "$@"
}

report() { # baseline-line subject-line label
  IFS='|' read -r bname brps bp99 bfail <<<"$1"
  IFS='|' read -r sname srps sp99 sfail <<<"$2"
  printf '  %-44s %10.0f req/s  p99 %7.2f ms  failed %s\n' "$bname" "$brps" "$bp99" "$bfail"
  printf '  %-44s %10.0f req/s  p99 %7.2f ms  failed %s\n' "$sname" "$srps" "$sp99" "$sfail"
  python3 -c "print(f'  {\"$3\"}: {100*float($srps)/float($brps):.1f} %')"
}

# Starts `biz-retail serve` in $work/$1 (HTTPS 18443) and prepares it (see prepare).
start_embedded() { # name
  "$bin/biz-retail" serve --data-dir "$work/$1" --https-port 18443 --grpc-port 15051 --log-level warning \
    > "$work/$1.log" 2>&1 &
  pids+=($!)
  wait_for "$work/$1/endpoints.json" https
  prepare "$work/$1/bootstrap-credentials.json" https://127.0.0.1:18443
}

embedded() {
  start_embedded embedded
  local api=https://127.0.0.1:18443
  "$bin/biz-bench" bare-https --port 19443 --body-bytes "$bytes" --dir "$work/bare" > "$work/bare.log" 2>&1 &
  pids+=($!)
  sleep 1
  echo "embedded: ${seconds}s per run, ${bytes}-byte JSON body"
  echo " wrk -t2 -c64 (HTTP/1.1 over TLS)"
  report "$(measure_wrk "bare Hummingbird HTTPS (ceiling)" "https://127.0.0.1:19443/v1/accounts/$id")" \
    "$(measure_wrk "gateway GET /v1/accounts/{id}" "$api/v1/accounts/$id" "Authorization: Bearer $token")" \
    "gateway / ceiling"
  echo " h2load -c64 -m8 (HTTP/2)"
  report "$(measure_h2load "bare Hummingbird HTTPS (ceiling)" "https://127.0.0.1:19443/v1/accounts/$id")" \
    "$(measure_h2load "gateway GET /v1/accounts/{id}" "$api/v1/accounts/$id" "authorization: Bearer $token")" \
    "gateway / ceiling"
  cat > "$work/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
  local tokens
  tokens=$(wrk -t2 -c16 -d"${seconds}s" --latency -s "$work/token.lua" "$api/oauth2/token" 2>&1)
  printf '  %-44s %10s tokens/s  p99 %s\n' "POST /oauth2/token (client_credentials)" \
    "$(echo "$tokens" | awk '/Requests\/sec/ {print $2}')" "$(echo "$tokens" | awk '$1 == "99%" {print $2}')"
  stop_all
}

# The embedded gateway with telemetry off and on (issue 10): tracing sampled at 100 % and exported over OTLP, the
# Prometheus registry, ECS log lines at info (two per request). Both servers run from the start and are loaded one at
# a time, in many short rounds whose order alternates (off then on, on then off): each round's ratio compares two
# loads a few seconds apart, so the machine's drift between minutes (±15 % here) cancels out of it, and neither
# server shares the cores with the other's load. Reports each round, the medians, and the median of the rounds' ratios
# with a 90 % bootstrap interval. The spans go to `biz-bench otlp-sink`, which discards them unparsed (a collector
# runs elsewhere in production; the Python receiver of the tests would take a core of its own here):
# BIZ_BENCH_OTLP=receiver uses scripts/otlp-receiver instead. Then the same with log shipping to Elasticsearch while
# `biz-bench log-shipping` offers 20,000 lines/s through the same shipper code.
telemetry_run() { # name https-port grpc-port [VAR=value...]
  local name=$1 https=$2 grpc=$3
  shift 3
  rm -rf "$work/telemetry-$name"
  env "$@" "$bin/biz-retail" serve --data-dir "$work/telemetry-$name" --https-port "$https" --grpc-port "$grpc" \
    --log-format ecs > "$work/$name.log" 2>&1 &
  pids+=($!)
  wait_for "$work/telemetry-$name/endpoints.json" https
  prepare "$work/telemetry-$name/bootstrap-credentials.json" "https://127.0.0.1:$https"
}

telemetry() {
  local otlp protocol
  if [ "${BIZ_BENCH_OTLP:-sink}" = receiver ]; then
    nice -n 10 scripts/otlp-receiver "$work/spans.jsonl" > /dev/null 2>&1 &
    others+=($!)
    wait_for "$work/spans.jsonl.ready" grpc
    otlp=$(sed 's/^grpc=\([^ ]*\).*/\1/' "$work/spans.jsonl.ready")
    protocol=grpc
  else
    "$bin/biz-bench" otlp-sink --port 14318 > "$work/sink.log" 2>&1 &
    others+=($!)
    wait_for "$work/sink.log" "OTLP/HTTP sink"
    otlp=http://127.0.0.1:14318
    protocol=http/protobuf
  fi
  local off=(OTEL_SDK_DISABLED=true BIZ_METRICS_PORT=0 BIZ_LOG_LEVEL=warning)
  local on=(OTEL_EXPORTER_OTLP_ENDPOINT="$otlp" OTEL_EXPORTER_OTLP_PROTOCOL="$protocol" OTEL_TRACES_SAMPLER=always_on
    BIZ_METRICS_PORT=19464 BIZ_LOG_LEVEL=info)
  local rounds=${BIZ_BENCH_ROUNDS:-10} kind
  declare -A url header pid
  telemetry_run off 18443 15051 "${off[@]}"
  pid[off]=${pids[-1]} url[off]=https://127.0.0.1:18443/v1/accounts/$id header[off]="Authorization: Bearer $token"
  telemetry_run on 18444 15052 "${on[@]}"
  pid[on]=${pids[-1]} url[on]=https://127.0.0.1:18444/v1/accounts/$id header[on]="Authorization: Bearer $token"
  echo "telemetry: GET /v1/accounts/{id}, off and on loaded one at a time, $rounds rounds of ${seconds}s each"
  local baseline
  for tool in wrk h2load; do
    local results=()
    for round in $(seq "$rounds"); do
      local order=(off on)
      if [ $((round % 2)) = 0 ]; then order=(on off); fi
      for kind in "${order[@]}"; do
        # The server loaded last finishes its loads' tail (closing 64 TLS connections; with telemetry on, the last
        # spans' export and log lines) before the next load starts, so that tail does not weigh on the next load.
        sleep "${BIZ_BENCH_SETTLE:-1}"
        local name="telemetry off"
        [ $kind = on ] && name="tracing 100 % + metrics + ECS info"
        results+=("$round|$kind|$(with_cpu_of "${pid[$kind]}" "measure_$tool" "$name" "${url[$kind]}" "${header[$kind]}")")
      done
    done
    printf '%s\n' "${results[@]}" | python3 -c "$(cat <<'PY'
import random, statistics, sys
rows = {}
for line in sys.stdin:
    round, kind, name, rps, p99, failed, cpu = line.strip().split('|')
    rows.setdefault(kind, []).append((float(rps), float(p99), float(cpu), name, int(float(failed or 0))))
for kind in ('off', 'on'):
    r = rows[kind]
    print(f"  {r[0][3]:<44} {statistics.median(x[0] for x in r):10.0f} req/s  p99 {statistics.median(x[1] for x in r):7.2f} ms"
          f"  {statistics.median(x[2] for x in r):6.1f} us CPU/request  failed {sum(x[4] for x in r)}"
          f"   (rounds: {', '.join(f'{x[0]:.0f}' for x in r)})")
pairs = [b[0] / a[0] for a, b in zip(rows['off'], rows['on'])]
cpu = [b[2] / a[2] for a, b in zip(rows['off'], rows['on'])]
random.seed(10)
boot = sorted(statistics.median(random.choices(pairs, k=len(pairs))) for _ in range(2000))
print(f"  {sys.argv[1]}: on / off round by round {', '.join(f'{100 * p:.1f}' for p in pairs)} %")
print(f"  {sys.argv[1]}: on / off median {100 * statistics.median(pairs):.1f} % of the throughput (90 % interval"
      f" {100 * boot[100]:.1f}-{100 * boot[1899]:.1f} %), {100 * statistics.median(cpu):.1f} % of the CPU per request")
PY
)" "$tool"
    baseline=$(printf '%s\n' "${results[@]}" | grep '|off|' | tail -1 | cut -d'|' -f3-6)
  done
  stop_all
  # Started only now: a starting Elasticsearch takes a core for a while, which would weigh on the first rounds.
  local es=${BIZ_BENCH_ELASTICSEARCH_URL:-$(scripts/elasticsearch start)}
  telemetry_run shipping 18443 15051 "${on[@]}" BIZ_ELASTICSEARCH_URL="$es" BIZ_ELASTICSEARCH_NAMESPACE="bench$$"
  "$bin/biz-bench" log-shipping --rate 20000 --seconds "$seconds" --url "$es" > "$work/shipping.out" &
  local shipping=$!
  echo " with the gateway's own lines shipped too, and 20,000 lines/s offered beside it:"
  report "$baseline" "$(measure_h2load "on + shipping to Elasticsearch" "https://127.0.0.1:18443/v1/accounts/$id" \
    "Authorization: Bearer $token")" \
    "h2load: on + shipping / off"
  wait $shipping
  echo "  $(cat "$work/shipping.out")"
  sleep 2
  curl -s -X POST "$es/logs-bizretail-bench$$/_refresh" > /dev/null
  echo "  gateway lines stored: $(curl -s "$es/logs-bizretail-bench$$/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')," \
    "dropped by its shipper: $(curl -s http://127.0.0.1:19464/metrics | awk '/^log_shipping_dropped_total/ {print $2}')"
  [ -f "$work/spans.jsonl" ] && echo "  spans received by the OTLP receiver: $(wc -l < "$work/spans.jsonl")"
  stop_all
}

# Telemetry off and on at the same time (issue 10): two `biz-retail serve` processes, one with each setting, each under
# its own `wrk -t1 -c32` for the same seconds, so both see the same minute of this machine (whose speed drifts by
# ±15 % between runs). Reports each round's throughput ratio and the ratio of the servers' CPU time per request
# (from /proc); the medians of BIZ_BENCH_ROUNDS rounds (5). The servers share the two cores with each other and
# with both wrk processes, so the absolute figures are about half those of `telemetry`.
telemetry_paired() {
  "$bin/biz-bench" otlp-sink --port 14318 > "$work/sink.log" 2>&1 &
  others+=($!)
  wait_for "$work/sink.log" "OTLP/HTTP sink"
  local rounds=${BIZ_BENCH_ROUNDS:-5} kind
  declare -A url header pid
  for kind in off on; do
    local https=18443 grpc=15051 settings=(OTEL_SDK_DISABLED=true BIZ_METRICS_PORT=0 BIZ_LOG_LEVEL=warning)
    if [ $kind = on ]; then
      https=18444 grpc=15052
      settings=(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:14318 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
        OTEL_TRACES_SAMPLER=always_on BIZ_METRICS_PORT=19464 BIZ_LOG_LEVEL=info)
    fi
    env "${settings[@]}" "$bin/biz-retail" serve --data-dir "$work/paired-$kind" --https-port $https \
      --grpc-port $grpc --log-format ecs > "$work/paired-$kind.log" 2>&1 &
    pids+=($!)
    pid[$kind]=$!
    wait_for "$work/paired-$kind/endpoints.json" https
    prepare "$work/paired-$kind/bootstrap-credentials.json" https://127.0.0.1:$https
    url[$kind]=https://127.0.0.1:$https/v1/accounts/$id
    header[$kind]="Authorization: Bearer $token"
  done
  echo "telemetry, paired: off and on served at once, wrk -t1 -c32 each, $rounds rounds of ${seconds}s"
  local lines=()
  for round in $(seq "$rounds"); do
    local cpu_off cpu_on
    cpu_off=$(awk '{print $14 + $15}' "/proc/${pid[off]}/stat")
    cpu_on=$(awk '{print $14 + $15}' "/proc/${pid[on]}/stat")
    # Which load starts first (a few milliseconds apart) alternates from round to round.
    local order=(off on)
    if [ $((round % 2)) = 0 ]; then order=(on off); fi
    wrk -t1 -c32 -d"${seconds}s" -H "${header[${order[0]}]}" "${url[${order[0]}]}" > "$work/paired-${order[0]}.wrk" 2>&1 &
    local first=$!
    wrk -t1 -c32 -d"${seconds}s" -H "${header[${order[1]}]}" "${url[${order[1]}]}" > "$work/paired-${order[1]}.wrk" 2>&1
    wait $first
    lines+=("$(awk '/Requests\/sec/ {print $2}' "$work/paired-off.wrk")|$(awk '/Requests\/sec/ {print $2}' \
      "$work/paired-on.wrk")|$(($(awk '{print $14 + $15}' "/proc/${pid[off]}/stat") - cpu_off))|$(($(awk \
      '{print $14 + $15}' "/proc/${pid[on]}/stat") - cpu_on))")
  done
  printf '%s\n' "${lines[@]}" | python3 -c "$(cat <<'PY'
import statistics, sys
seconds, ticks = float(sys.argv[1]), float(sys.argv[2])
throughput, cpu = [], []
for round, line in enumerate(sys.stdin, 1):
    off, on, cpu_off, cpu_on = (float(x) for x in line.split('|'))
    per_off, per_on = cpu_off / ticks * 1e6 / (off * seconds), cpu_on / ticks * 1e6 / (on * seconds)
    throughput.append(on / off)
    cpu.append(per_on / per_off)
    print(f"  round {round}: off {off:.0f} req/s, on {on:.0f} req/s ({100 * on / off:.1f} %); CPU per request "
          f"{per_off:.1f} / {per_on:.1f} us ({100 * per_on / per_off:.1f} %)")
print(f"  paired: on / off {100 * statistics.median(throughput):.1f} % of the throughput, "
      f"{100 * statistics.median(cpu):.1f} % of the CPU per request (medians)")
PY
)" "$seconds" "$(getconf CLK_TCK)"
  stop_all
}

distributed() {
  local brokers
  brokers=$(BIZ_KAFKA_PORT=${BIZ_BENCH_KAFKA_PORT:-19392} BIZ_KAFKA_DIR="$work/kafka" scripts/kafka start)
  local common=(BIZ_KAFKA_BROKERS="$brokers" BIZ_KAFKA_TOPIC_PREFIX="bench-$$." BIZ_ISSUER=https://biz-retail.bench
    BIZ_GATEWAY_CLIENT_SECRET="bench-gateway-secret-$(head -c 16 /dev/urandom | base64 | tr -dc a-zA-Z0-9)"
    BIZ_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" BIZ_IDENTITY_ADDRESS=127.0.0.1:15061
    BIZ_TEAM_ADDRESS=127.0.0.1:15062 BIZ_AUDIT_ADDRESS=127.0.0.1:15063)
  env "${common[@]}" "$bin/biz-retail" serve identity --data-dir "$work/identity" --grpc-port 15061 \
    --log-level warning > "$work/identity.log" 2>&1 &
  pids+=($!)
  env "${common[@]}" "$bin/biz-retail" serve team --data-dir "$work/team" --grpc-port 15062 \
    --log-level warning > "$work/team.log" 2>&1 &
  pids+=($!)
  wait_for "$work/identity/endpoints.json" grpc
  wait_for "$work/team/endpoints.json" grpc
  env "${common[@]}" "$bin/biz-retail" serve gateway --data-dir "$work/gateway" --https-port 18444 \
    --log-level warning > "$work/gateway.log" 2>&1 &
  pids+=($!)
  wait_for "$work/gateway/endpoints.json" https
  local api=https://127.0.0.1:18444
  prepare "$work/identity/bootstrap-credentials.json" "$api"
  "$bin/biz-bench" trivial-grpc --port 19061 --body-bytes "$bytes" > "$work/trivial.log" 2>&1 &
  pids+=($!)
  "$bin/biz-bench" bare-grpc-hop --port 19444 --grpc-port 19061 --dir "$work/bare" > "$work/hop.log" 2>&1 &
  pids+=($!)
  sleep 1
  echo "distributed (gateway, identity, team as processes): ${seconds}s per run, ${bytes}-byte JSON body"
  echo " wrk -t2 -c64 (HTTP/1.1 over TLS)"
  report "$(measure_wrk "bare HTTPS + one bare gRPC hop (floor)" "https://127.0.0.1:19444/v1/accounts/$id")" \
    "$(measure_wrk "gateway GET /v1/accounts/{id}" "$api/v1/accounts/$id" "Authorization: Bearer $token")" \
    "gateway / floor"
  echo " h2load -c64 -m8 (HTTP/2)"
  report "$(measure_h2load "bare HTTPS + one bare gRPC hop (floor)" "https://127.0.0.1:19444/v1/accounts/$id")" \
    "$(measure_h2load "gateway GET /v1/accounts/{id}" "$api/v1/accounts/$id" "authorization: Bearer $token")" \
    "gateway / floor"
  stop_all
  BIZ_KAFKA_PORT=${BIZ_BENCH_KAFKA_PORT:-19392} BIZ_KAFKA_DIR="$work/kafka" scripts/kafka stop >/dev/null 2>&1 || true
}

# wrk with a Lua script.
measure_wrk_script() { wrk_run "$1" -s "$3" "$2"; } # name url script

# A wrk script POSTing a new resource per request to $1 with body format $2 (%s: the run, %d: the thread, %d: its
# counter, so no two requests of any run repeat a code).
write_script() { # path body-format file token
  cat > "$3" <<LUA
local counter = 0
local threads = 0
local run = tostring(os.time())
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function request()
  counter = counter + 1
  local body = string.format('$2', run, tid, counter)
  return wrk.format("POST", "$1", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $4"}, body)
end
LUA
}

writes() {
  start_embedded writes
  local api=https://127.0.0.1:18443
  # A client contractor (an active tenant) with its first admin, who makes the writes.
  curl -sk -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -o /dev/null \
    -d '{"legal_name":"Bench Ltda","document":"11.222.333/0001-81","contact_email":"bench@example.com","contract":{"plan":"pro"},"admin":{"email":"admin@bench.example","name":"Admin","password":"bench-password-1"}}' \
    "$api/v1/client-contractors"
  read -r client secret < <(python3 -c "import json; d=json.load(open('$work/writes/bootstrap-credentials.json')); print(d['client_id'], d['client_secret'])")
  local tenant_token
  tenant_token=$(curl -sk -u "$client:$secret" -d grant_type=password -d username=admin@bench.example \
    -d password=bench-password-1 "$api/oauth2/token" | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
  write_script /v1/teams '{"name":"Team %s-%d-%d"}' "$work/teams.lua" "$tenant_token"
  write_script /v1/cost-centers '{"code":"C%s-%d-%d","name":"Cost center"}' "$work/cost-centers.lua" "$tenant_token"
  local rounds=${BIZ_BENCH_ROUNDS:-3} teams=() centers=()
  echo "writes as a tenant's admin: ${seconds}s per run, $rounds rounds alternating, wrk -t2 -c64"
  for round in $(seq "$rounds"); do
    teams+=("$(with_cpu measure_wrk_script "POST /v1/teams" "$api/v1/teams" "$work/teams.lua")")
    centers+=("$(with_cpu measure_wrk_script "POST /v1/cost-centers" "$api/v1/cost-centers" "$work/cost-centers.lua")")
    echo "  round $round: ${teams[-1]}  /  ${centers[-1]}"
  done
  python3 - "${teams[@]}" -- "${centers[@]}" <<'PY'
import statistics, sys
args = sys.argv[1:]
split = args.index("--")
def parse(lines):
    rows = [line.split("|") for line in lines]
    return (statistics.median(float(r[1]) for r in rows), statistics.median(float(r[2]) for r in rows),
            sum(int(float(r[3])) for r in rows), statistics.median(float(r[4]) for r in rows))
teams, centers = parse(args[:split]), parse(args[split + 1:])
for name, (rps, p99, failed, cpu) in (("POST /v1/teams (baseline)", teams), ("POST /v1/cost-centers", centers)):
    print(f"  {name:<32} {rps:8.0f} req/s (median)  p99 {p99:7.2f} ms  non-2xx {failed}  CPU {cpu:.0f} us/request")
print(f"  cost centers / teams: {100 * centers[0] / teams[0]:.1f} %")
PY
  stop_all
}

# Token verification at the gateway (issue 12): GET /v1/accounts/{id} on one connection (wrk -t1 -c1), its mean
# latency with one token (verified once, then the verified-token cache answers: verification bypassed) against a
# fresh token on every request (the same wrk script for both) (each verified in full: ES256 signature, claims). Tokens are client_credentials ones
# of the operator client, minted beforehand, BIZ_BENCH_TOKENS of them (default 20000; more than the run sends, so
# none repeats). Then `biz-bench token-verify`: the verifier alone, own and external (Keycloak-shaped RS256/ES256)
# tokens, first use and cached, per token.
verify() {
  start_embedded verify
  # Rounds alternate which run goes first; each fresh run takes tokens no earlier run used.
  local api=https://127.0.0.1:18443 rounds=${BIZ_BENCH_ROUNDS:-5}
  local count=${BIZ_BENCH_TOKENS:-$((rounds * seconds * 2000))}
  echo "verify: minting $count tokens…"
  python3 - "$api" "$basic" "$count" "$work/tokens.txt" <<'PY'
import base64, concurrent.futures, http.client, json, ssl, sys, urllib.parse
api, basic, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
url = urllib.parse.urlparse(api)
context = ssl._create_unverified_context()
def mint(n):
    connection = http.client.HTTPSConnection(url.hostname, url.port, context=context)
    tokens = []
    for _ in range(n):
        connection.request("POST", "/oauth2/token", "grant_type=client_credentials",
                           {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic " + basic})
        tokens.append(json.loads(connection.getresponse().read())["access_token"])
    return tokens
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    batches = list(pool.map(mint, [count // 8] * 8))
with open(out, "w") as file:
    for batch in batches:
        for token in batch:
            file.write(token + "\n")
PY
  cat > "$work/fresh.lua" <<'LUA'
local tokens, index = {}, 0
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  index = tonumber(args[2] or "0")
end
request = function()
  index = index + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[(index - 1) % #tokens + 1]})
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d\n", summary.requests))
end
LUA
  # The same script with one token: both runs pay the same client-side cost.
  echo "$token" > "$work/one-token.txt"
  local round offset=0 sent
  for round in $(seq 1 "$rounds"); do
    for kind in $( ((round % 2)) && echo "cached fresh" || echo "fresh cached"); do
      if [ "$kind" = cached ]; then
        wrk -t1 -c1 -d"${seconds}s" --latency -s "$work/fresh.lua" "$api/v1/accounts/$id" -- \
          "$work/one-token.txt" > "$work/verify-$round-cached.txt" 2>&1
      else
        wrk -t1 -c1 -d"${seconds}s" --latency -s "$work/fresh.lua" "$api/v1/accounts/$id" -- \
          "$work/tokens.txt" "$offset" > "$work/verify-$round-fresh.txt" 2>&1
        sent=$(awk '/^requests/ {print $2}' "$work/verify-$round-fresh.txt")
        offset=$((offset + ${sent:-0}))
      fi
    done
  done
  python3 - "$work" "$rounds" "$count" "$offset" <<'PY'
import re, statistics, sys
work, rounds, count, used = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def parse(path):
    text = open(path).read()
    mean = re.search(r"Latency\s+([\d.]+)(us|ms|s)", text)
    value = float(mean.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[mean.group(2)]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return value, rps, int(non2xx.group(1)) if non2xx else 0
added = []
for round in range(1, rounds + 1):
    cached, fresh = parse(f"{work}/verify-{round}-cached.txt"), parse(f"{work}/verify-{round}-fresh.txt")
    added.append(fresh[0] - cached[0])
    print(f"  round {round}: one token (cached) mean {cached[0]:.3f} ms, {cached[1]:6.0f} req/s; a fresh token per "
          f"request mean {fresh[0]:.3f} ms, {fresh[1]:6.0f} req/s; non-2xx {cached[2] + fresh[2]}; "
          f"adds {fresh[0] - cached[0]:+.3f} ms")
if used > count:
    print(f"  warning: {used} fresh requests for {count} tokens (some repeated): raise BIZ_BENCH_TOKENS")
print(f"  verification adds {statistics.median(added):.3f} ms per request, median of {rounds} rounds "
      f"(range {min(added):+.3f} to {max(added):+.3f}; target < 0.2 ms)")
PY
  stop_all
  "$bin/biz-bench" token-verify --tokens 20000
}

case "$which_parts" in
  embedded) embedded ;;
  verify) verify ;;
  distributed) distributed ;;
  telemetry) telemetry ;;
  telemetry-paired) telemetry_paired ;;
  writes) writes ;;
  all) embedded; distributed; telemetry; writes; verify ;;
  *) echo "usage: Benchmarks/gateway-wrk.sh [seconds] [embedded|distributed|telemetry|telemetry-paired|writes|verify|all]" >&2; exit 2 ;;
esac
