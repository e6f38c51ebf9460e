# Sourced by the scripts that start background servers. Closes the descriptors a caller let us inherit beyond stdin,
# stdout and stderr, so the servers started from here never hold the caller's pipes open (a caller reading our
# output would otherwise wait until they exit).
for fd in /proc/$$/fd/*; do
  fd="${fd##*/}"
  if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done
