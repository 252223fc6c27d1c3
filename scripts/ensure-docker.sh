#!/usr/bin/env bash
# Make sure a Docker engine answers and the host tools the tests rely on are present:
# busybox-static (the test image is built from it) and etcd-server (storage contract suite).
# Idempotent and quiet on success; says what went wrong and exits non-zero otherwise.
#   NANOKUBE_DOCKERD_LOG  where a dockerd we start logs (default /tmp/dockerd.log)
#   NANOKUBE_DOCKER_WAIT  seconds to wait for a started dockerd to answer (default 60)
set -euo pipefail

log_file="${NANOKUBE_DOCKERD_LOG:-/tmp/dockerd.log}"
wait_seconds="${NANOKUBE_DOCKER_WAIT:-60}"

fail() { echo "ensure-docker: $*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# Packages (apt names) for commands that are missing. Collected first so apt runs at most once.
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
[ -x /bin/busybox ] || command -v busybox >/dev/null 2>&1 || missing+=(busybox-static)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)

if [ "${#missing[@]}" -gt 0 ]; then
  # De-duplicate (docker.io may be listed twice).
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if ! is_root; then
    fail "missing ${missing[*]}; run as root or install them: sudo apt-get install -y ${missing[*]}"
  fi
  command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and no apt-get to install them"
  export DEBIAN_FRONTEND=noninteractive
  apt_log="$(mktemp /tmp/ensure-docker-apt.XXXXXX)"
  if ! { timeout 300 apt-get update -q && timeout 600 apt-get install -y -q "${missing[@]}"; } >"$apt_log" 2>&1; then
    tail -n 20 "$apt_log" >&2
    fail "apt-get install ${missing[*]} failed (full log: $apt_log)"
  fi
  rm -f "$apt_log"
fi

docker_answers() { timeout 10 docker info >/dev/null 2>&1; }

docker_answers && exit 0

# The engine is installed but not answering. Start it only if nobody else already did
# (a dockerd that is still starting up just needs the wait below).
if ! pgrep -x dockerd >/dev/null 2>&1; then
  is_root || fail "docker is not running and only root can start dockerd here; start the Docker service"
  # setsid + nohup: the daemon must outlive this script and the test run that called it.
  setsid nohup dockerd >"$log_file" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$wait_seconds"); do
  docker_answers && exit 0
  sleep 1
done

tail -n 20 "$log_file" >&2 2>/dev/null || true
fail "dockerd did not answer 'docker info' within ${wait_seconds}s (log: $log_file)"
