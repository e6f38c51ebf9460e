# Sourced by scripts/kafka and scripts/elasticsearch: one noida-db service (PyPI noida-db) on loopback, in the
# background, as a stand-in for the real server in tests and the local cluster.
#
#   noida_main SERVICE PORT DIR ADDRESS COMMAND   COMMAND: start (prints ADDRESS), stop, restart, address, status
#                                                 (exit 0 when it runs, 1 when not)
. "$(dirname "${BASH_SOURCE[0]}")/detach.sh"

noida_main() {
  local service="$1" port="$2" dir="$3" address="$4" command="${5:-}"
  command -v noida-db >/dev/null || { echo "noida-db is not installed: pip install noida-db (.ci/run does it)" >&2; exit 1; }

  running() { alive "$dir/pid" "--$service-port $port"; }
  listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

  start() {
    mkdir -p "$dir"
    if ! running; then
      # noida-db prints a harmless GLIBC_2.39 warning at start; it goes to the log with the rest.
      setsid noida-db start --data-dir "$dir/data" --only "$service" "--$service-port" "$port" >>"$dir/server.log" 2>&1 &
      echo $! >"$dir/pid"
    fi
    for _ in $(seq 1 150); do
      if listening; then echo "$address"; return; fi
      started "$dir/pid" || break
      sleep 0.2
    done
    echo "the $service endpoint did not start; its log:" >&2
    tail -n 20 "$dir/server.log" >&2
    exit 1
  }

  stop() {
    if running; then
      # The server is the session leader setsid made: stop its whole group (the launcher and the server).
      kill -- -"$(cat "$dir/pid")" 2>/dev/null || kill "$(cat "$dir/pid")"
      for _ in $(seq 1 100); do running || break; sleep 0.1; done
      running && kill -9 -- -"$(cat "$dir/pid")" 2>/dev/null
    fi
    # Wait until the port is free, so a restart can bind it.
    for _ in $(seq 1 50); do listening || break; sleep 0.1; done
    rm -f "$dir/pid"
  }

  case "$command" in
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    address) echo "$address" ;;
    status) running ;;
    *) echo "usage: $(basename "$0") start|stop|restart|address|status" >&2; exit 2 ;;
  esac
}
