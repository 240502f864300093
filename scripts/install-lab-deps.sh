#!/usr/bin/env bash
# Install what the live tests drive for real when the machine lacks it: HAProxy (the edge),
# PostgreSQL (the tier-1 database triplet), Redis (stream replication), rsync (object batch sync).
set -euo pipefail
need=()
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-lab-deps: need root to apt-get install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a PostgreSQL cluster and a Redis server on install; the lab runs its own, so stop them.
if command -v systemctl >/dev/null 2>&1; then systemctl stop redis-server >/dev/null 2>&1 || true; fi
pkill -x redis-server >/dev/null 2>&1 || true
if command -v pg_ctlcluster >/dev/null 2>&1; then
  for v in /etc/postgresql/*/main; do
    [ -d "$v" ] && pg_ctlcluster "$(basename "$(dirname "$v")")" main stop >/dev/null 2>&1 || true
  done
fi
