#!/usr/bin/env bash
# `npm run quickstart`: from a fresh clone to a running cluster. Installs what is missing (the Docker
# engine via apt when run as root and no engine answers, npm deps), builds, starts the default cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-docker.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
bin/nanokube start "$@"
cat <<'TXT'

Next steps:
  kubectl get namespaces                 # kubectl now points at the cluster (context nanokube-default)
  bin/nanokube status                    # where it runs, its data dir and kubeconfig
  bin/nanokube stop | start | delete     # stop keeps the data; delete removes everything
TXT
