#!/usr/bin/env bash
# Gradescope runs this once while building the autograder image, as root, with network. It downloads from the
# distribution's archive (apt) what the image lacks: the tracer (strace), the DNS stub (dnsmasq-base), nslookup
# (bind9-dnsutils), useradd (passwd), and Python where the distribution's python3 is older than 3.11 (Ubuntu
# 22.04: python3.11). The grader and its dependencies come from the wheels in this bundle, into /opt/grade.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
updated=
apt_install() {
    [ -n "$updated" ] || { apt-get update -qq; updated=1; }
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
command -v python3 >/dev/null || apt_install python3
# The distribution's own python3 where it is 3.11 or newer (Debian 12, Ubuntu 24.04), else python3.11.
python=python3
python3 -I -c 'import sys; sys.exit(sys.version_info < (3, 11))' || python=python3.11
need=()
command -v "$python" >/dev/null || need+=("$python")
command -v strace >/dev/null || need+=(strace)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v nslookup >/dev/null || need+=(bind9-dnsutils)
command -v useradd >/dev/null || need+=(passwd)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

# The grader lives in its own environment, /opt/grade, out of every submission's reach.
rm -rf /opt/grade
if compgen -G "wheels/*.whl" >/dev/null; then
    # Wheels are zip files: unpacking them needs no pip and no index. Only the interpreter's own binary wheels.
    "$python" -I -m venv --without-pip /opt/grade
    site=$(/opt/grade/bin/python -I -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
    tag=$(/opt/grade/bin/python -I -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
    if compgen -G "wheels/*-cp3*.whl" >/dev/null && ! compgen -G "wheels/*-$tag-*.whl" >/dev/null; then
        echo "setup.sh: this bundle has no wheels for Python $tag — rebuild it with \`grade init-ci gradescope\`" >&2
        exit 1
    fi
    for w in wheels/*.whl; do
        case "$w" in
            *-none-any.whl | *-"$tag"-*) /opt/grade/bin/python -I -m zipfile -e "$w" "$site" ;;
        esac
    done
else
    # No wheels bundled: pip installs the grader (and its dependencies from the package index) at build time.
    apt_install "$python-venv"
    case {install} in git+*) command -v git >/dev/null || apt_install git ;; esac
    "$python" -I -m venv /opt/grade
    /opt/grade/bin/python -I -m pip install --quiet --disable-pip-version-check {install}
fi
cat >/usr/local/bin/grade <<'SH'
#!/bin/sh
# -I: the grader imports from /opt/grade and the standard library only, never from the current folder
exec /opt/grade/bin/python -I -m grader "$@"
SH
chmod 0755 /usr/local/bin/grade
# uid 61001 when free: a uid no person and no grade container uses (RLIMIT_NPROC counts per uid, machine-wide)
uid=(); getent passwd 61001 >/dev/null || uid=(--uid 61001)
id grade-student >/dev/null 2>&1 \
    || useradd "${uid[@]}" --user-group --no-create-home --home-dir /tmp --shell /usr/sbin/nologin grade-student
grade --version
