#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine: system packages, a running Docker engine,
# the grader with its test tools, and the runtime image (built from Debian's archive).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v strace >/dev/null || need+=(strace)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v nslookup >/dev/null || need+=(bind9-dnsutils)
command -v chromium >/dev/null || need+=(chromium)
# the cluster tests (tests/test_cluster*.py) start their own Redis and PostgreSQL on loopback ports
command -v redis-server >/dev/null || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# tests/test_engine_tls.py makes a CA and certificates for an engine reached over TLS
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    echo "setup: starting dockerd"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi

# The distribution was called `grade` before it became grade-autograder: an old editable install's import hook
# would still serve `grader` from wherever that checkout was.
if python3 -m pip show grade 2>/dev/null | grep -q '^Editable project location:'; then
    python3 -m pip uninstall -y -q --root-user-action=ignore grade
fi
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[test,dev,cluster]'
grade image build --bootstrap
