#!/usr/bin/env bash
# Runs the same client load (fake-dc/benches/server.rs) against fake-dc in process, against
# `fake-dc serve` in its own process, and against a private OpenLDAP slapd loaded with the
# same 100,000 users, and prints all three. The own-process run is the like-for-like one:
# both servers then share the two cores with the bench's clients in the same way.
#
# slapd runs on loopback only, from a temporary directory (mdb backend), and is stopped
# on exit. Needs Debian's `slapd` package (slapd, slapadd, /etc/ldap/schema).
#
#   scripts/slapd-compare.sh            # BENCH_SECS=2 per workload by default
#   SLAPD_PORT=38999 BENCH_SECS=5 scripts/slapd-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${SLAPD_PORT:-38999}"
FDC_PORT="${FAKE_DC_PORT:-38998}"
SLAPD="$(command -v slapd || echo /usr/sbin/slapd)"
SLAPADD="$(command -v slapadd || echo /usr/sbin/slapadd)"
for tool in "$SLAPD" "$SLAPADD"; do
    [ -x "$tool" ] || { echo "error: $tool not found; install it with: apt-get install -y slapd" >&2; exit 1; }
done
SCHEMA=/etc/ldap/schema
[ -f "$SCHEMA/inetorgperson.schema" ] || { echo "error: $SCHEMA/inetorgperson.schema missing (Debian slapd package)" >&2; exit 1; }

WORK="$(mktemp -d -t slapd-compare.XXXXXX)"
SLAPD_PID=""
FDC_PID=""
cleanup() {
    if [ -n "$FDC_PID" ] && kill -0 "$FDC_PID" 2>/dev/null; then
        kill -INT "$FDC_PID" && wait "$FDC_PID" 2>/dev/null || true
    fi
    if [ -n "$SLAPD_PID" ] && kill -0 "$SLAPD_PID" 2>/dev/null; then
        kill "$SLAPD_PID" && wait "$SLAPD_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== exporting the bench fixture as LDIF for OpenLDAP's schemas"
cargo build --release -q -p fake-dc --bin fake-dc
target/release/fake-dc export-ldif --openldap fake-dc/benches/bench-100k.yaml > "$WORK/data.ldif"
echo "   $(grep -c '^dn:' "$WORK/data.ldif") entries"

MODULES=""
if [ -d /usr/lib/ldap ]; then
    MODULES="modulepath /usr/lib/ldap
moduleload back_mdb"
fi
mkdir -p "$WORK/db"
cat > "$WORK/slapd.conf" <<EOF
include $SCHEMA/core.schema
include $SCHEMA/cosine.schema
include $SCHEMA/inetorgperson.schema
$MODULES
pidfile $WORK/slapd.pid
# AD's MaxPageSize is a server rule of fake-dc; slapd gets no limit so paging is compared.
sizelimit unlimited
database mdb
maxsize 4294967296
suffix "DC=corp,DC=example,DC=test"
rootdn "cn=admin,DC=corp,DC=example,DC=test"
rootpw admin
directory $WORK/db
index objectClass eq
index mail eq
access to attrs=userPassword by anonymous auth by * none
access to * by * read
EOF

echo "== loading slapd (slapadd -q)"
"$SLAPADD" -q -f "$WORK/slapd.conf" -l "$WORK/data.ldif"
# -d 0 keeps slapd in the foreground as our child, so the trap can stop it by its pid.
"$SLAPD" -f "$WORK/slapd.conf" -h "ldap://127.0.0.1:$PORT/" -d 0 > "$WORK/slapd.log" 2>&1 &
SLAPD_PID=$!
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

echo "== fake-dc (in process: clients and server share one runtime)"
cargo bench -q -p fake-dc --bench server 2>/dev/null
echo "== fake-dc serve (own process, like slapd; per-operation log lines off)"
RUST_LOG=warn target/release/fake-dc serve --ldap "127.0.0.1:$FDC_PORT" fake-dc/benches/bench-100k.yaml > "$WORK/fake-dc.log" 2>&1 &
FDC_PID=$!
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$FDC_PORT") 2>/dev/null && break
    sleep 0.1
done
cargo bench -q -p fake-dc --bench server -- --external "ldap://127.0.0.1:$FDC_PORT" --label fdc-serve 2>/dev/null
kill -INT "$FDC_PID" && wait "$FDC_PID" 2>/dev/null || true
FDC_PID=""
echo "== slapd $( "$SLAPD" -VV 2>&1 | head -1 | sed 's/.*slapd //' ) (own process)"
cargo bench -q -p fake-dc --bench server -- --external "ldap://127.0.0.1:$PORT" --label slapd 2>/dev/null
