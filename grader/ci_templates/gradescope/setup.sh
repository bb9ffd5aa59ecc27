#!/usr/bin/env bash
# Gradescope runs this once while building the autograder image (as root, with network).
# Installs the tracer, the DNS stub, Python 3.11 and the grader from the wheels in this bundle.
set -euo pipefail
cd "$(dirname "$0")"
need=()
command -v strace >/dev/null || need+=(strace)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v nslookup >/dev/null || need+=(bind9-dnsutils)
command -v python3.11 >/dev/null || need+=(python3.11)
command -v useradd >/dev/null || need+=(passwd)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# Wheels are zip files: unpacking them needs no pip, and no network at grading time.
mkdir -p /opt/grade/lib
if compgen -G "wheels/*.whl" >/dev/null; then
    for w in wheels/*.whl; do python3.11 -m zipfile -e "$w" /opt/grade/lib; done
else
    python3.11 -m pip install --quiet --target /opt/grade/lib "{install}"
fi
cat >/usr/local/bin/grade <<'SH'
#!/bin/sh
PYTHONPATH=/opt/grade/lib exec python3.11 -m grader "$@"
SH
chmod 0755 /usr/local/bin/grade
# uid 61001 when free: a uid no person and no grade container uses (RLIMIT_NPROC counts per uid, machine-wide)
uid=(); getent passwd 61001 >/dev/null || uid=(--uid 61001)
id grade-student >/dev/null 2>&1 \
    || useradd "${uid[@]}" --user-group --no-create-home --home-dir /tmp --shell /usr/sbin/nologin grade-student
grade --version
