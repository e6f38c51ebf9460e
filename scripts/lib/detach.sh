# Sourced by the scripts that start background servers. Closes the descriptors a caller let us inherit beyond stdin,
# stdout and stderr, so the servers started from here never hold the caller's pipes open (a caller reading our
# output would otherwise wait until they exit).
for fd in /proc/$$/fd/*; do
  fd="${fd##*/}"
  if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

# alive PIDFILE PATTERN: the process in PIDFILE runs and its command line contains PATTERN. A pid file can outlive its
# process, and the system reuses pids (pid_max is often 32768): without the pattern, `stop` could signal a stranger.
alive() {
  local pid
  [ -f "$1" ] && pid=$(cat "$1") && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# started PIDFILE: the process just started from here still runs (its command line may not be exec'd yet, so no
# pattern: only for the moments right after starting it).
started() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
