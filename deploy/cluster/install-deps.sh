#!/bin/sh
# `make cluster-deps`: the Debian packages of the cluster (Patroni, etcd, PgBouncer, HAProxy), installed so that
# none of their packaged services starts: `topup cluster up` (or the operator's own units) runs them with the
# configuration files of deploy/cluster/. A policy-rc.d answering 101 ("action forbidden") is in place during the
# install (the one already there is kept and put back); afterwards the services of the packages this run installed
# are stopped and disabled. A package that was already installed is left alone, its service included: on a real
# host it may be the one in production.
set -eu
PACKAGES="patroni etcd-server etcd-client pgbouncer haproxy"
POLICY=${POLICY_RC_D:-/usr/sbin/policy-rc.d}  # another path only for the test
SAVED=""
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ -e "$POLICY" ]; then SAVED=$(mktemp); cp -p "$POLICY" "$SAVED"; fi
    trap 'if [ -n "$SAVED" ]; then mv "$SAVED" "$POLICY"; else rm -f "$POLICY"; fi' EXIT
    printf '#!/bin/sh\nexit 101\n' > "$POLICY"
    chmod 755 "$POLICY"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
fi
for p in $missing; do  # the services just installed must not run: the cluster starts its own processes
    case "$p" in
        etcd-server) s=etcd ;;
        patroni | pgbouncer | haproxy) s=$p ;;
        *) continue ;;
    esac
    if [ -x "/etc/init.d/$s" ]; then
        service "$s" stop >/dev/null 2>&1 || true
        update-rc.d "$s" disable >/dev/null 2>&1 || true
    fi
    systemctl disable "$s" >/dev/null 2>&1 || true
done
echo "cluster packages installed:"
dpkg-query -W -f='  ${Package} ${Version}\n' $PACKAGES
