#!/usr/bin/env bash
# Interop: two Parley servers (a.example, b.example), Prosody (p.example) and ejabberd
# (e.example) federate inside a network namespace of their own, resolving each other through a
# dnsmasq in it. For every pair with a Parley side, both directions: chat with emoji, a presence
# subscription each way with presence flowing, iqs answered (scenario.py, real slixmpp clients).
# Then: which authentication Parley used, bounces for an unknown and an unreachable domain, and
# a peer restarted mid-conversation.
#
#   tests/interop/federation.sh MODE PARLEYD PARLEYCTL
#     MODE ca:       certificates from a test CA everyone trusts: SASL EXTERNAL (XEP-0178), and
#                    Parley with require_valid_certificates, so nothing else could work
#     MODE dialback: self-signed certificates: Server Dialback (XEP-0220) over TLS
#
# Needs root (ip netns) and the packages contrib/install-deps.sh --test installs. Prints one
# "PASS|FAIL <check>" line per check and ends with "N passed, N failed"; exit 0 only if all
# passed. Logs of a failed run are kept in tests/artifacts/interop-MODE/. Bounded: a watchdog
# ends the run after INTEROP_DEADLINE seconds (default 300). Environment: INTEROP_KEEP=1 keeps
# the logs even on success.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
. "$HERE/peers/peers.sh"

if [ $# -ne 3 ] || { [ "$1" != ca ] && [ "$1" != dialback ]; }; then
	echo "usage: $0 ca|dialback PARLEYD PARLEYCTL" >&2
	exit 2
fi
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	exec sudo -n -E bash "$0" "$@"  # network namespaces need root
fi
MODE=$1
PARLEYD=$(realpath "$2")
PARLEYCTL=$(realpath "$3")
PY=/usr/bin/python3
PASSED=0 FAILED=0
NS="" STATE="" WATCHDOG=""
PEERS_DNSMASQ_PID="" PEERS_PROSODY_PID="" PEERS_EJABBERD_PID=""
declare -A PARLEY_PID=()
declare -A IP=([a.example]=127.0.0.2 [b.example]=127.0.0.3 [p.example]=127.0.0.4
	[e.example]=127.0.0.5)

check() {  # check NAME CMD... : runs CMD in this shell, counts, prints PASS/FAIL
	local name=$1 status
	shift
	"$@"
	status=$?
	if [ $status -eq 0 ]; then
		echo "PASS [$MODE] $name"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL [$MODE] $name"
		FAILED=$((FAILED + 1))
	fi
	return $status
}

in_ns() { ip netns exec "$NS" "$@"; }
scenario() { in_ns timeout 150 "$PY" "$HERE/scenario.py" "$@"; }
password() { echo "pw-$1"; }  # password USER@DOMAIN
log_has() { grep -qF -- "$2" "$1"; }  # log_has FILE TEXT
log_lacks() { ! grep -qF -- "$2" "$1"; }

# ---- Parley ---------------------------------------------------------------------------------

parley_config() {  # parley_config DOMAIN : writes $STATE/DOMAIN/parley.toml
	local domain=$1 dir="$STATE/$1" ip=${IP[$1]} trust="" peer
	mkdir -p "$dir"
	if [ "$MODE" = ca ]; then
		for peer in a.example b.example p.example e.example; do
			[ "$peer" = "$domain" ] || trust+="\"$peer\" = \"$STATE/certs/ca.crt\", "
		done
		trust="require_valid_certificates = true
trust = { ${trust%, } }"
	fi
	cat >"$dir/parley.toml" <<EOF
# Written by tests/interop/federation.sh ($MODE).
data_dir = "var"
threads = 2
log_level = "debug"

[c2s]
listen = ["$ip:5222"]
direct_tls = []

[s2s]
listen = ["$ip:5269"]
direct_tls = []
connect_timeout = "5s"
queue_timeout = "12s"
$trust

[http]
listen = []
tls_listen = []

[hosts."$domain"]
cert = "$STATE/certs/$domain.crt"
key = "$STATE/certs/$domain.key"
EOF
}

parley_adduser() {  # parley_adduser DOMAIN USER
	password "$2@$1" | "$PARLEYCTL" --config "$STATE/$1/parley.toml" adduser "$2@$1" >/dev/null
}

parley_start() {  # parley_start DOMAIN
	local domain=$1
	# Not through in_ns: a backgrounded function would be a subshell, and $! its pid.
	ip netns exec "$NS" "$PARLEYD" --config "$STATE/$domain/parley.toml" \
		>>"$STATE/$domain/parleyd.stderr" 2>&1 </dev/null &
	PARLEY_PID[$domain]=$!
	peers_wait_tcp "$NS" "${IP[$domain]}" 5269 10 && peers_wait_tcp "$NS" "${IP[$domain]}" 5222 5
}

parley_stop() {  # parley_stop DOMAIN : SIGTERM; a clean exit (status 0) is part of the test
	local domain=$1 pid=${PARLEY_PID[$1]:-} status
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	timeout 15 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	PARLEY_PID[$domain]=""
	[ $status -eq 0 ] || { echo "parleyd $domain exited with status $status"; return 1; }
}

# ---- the world ------------------------------------------------------------------------------

teardown() {
	local domain
	for domain in a.example b.example; do
		[ -n "${PARLEY_PID[$domain]:-}" ] && check "parleyd $domain stops cleanly" parley_stop "$domain"
	done
	peers_stop "$PEERS_PROSODY_PID" prosody 10
	peers_stop "$PEERS_EJABBERD_PID" ejabberd 15
	peers_stop "$PEERS_DNSMASQ_PID" dnsmasq 5
	PEERS_PROSODY_PID="" PEERS_EJABBERD_PID="" PEERS_DNSMASQ_PID=""
	[ -n "$NS" ] && peers_netns_down "$NS"
	NS=""
	if [ -n "$STATE" ]; then
		if [ "$FAILED" -gt 0 ] || [ "${INTEROP_KEEP:-0}" = 1 ]; then
			local keep="$REPO/tests/artifacts/interop-$MODE"
			rm -rf "$keep"
			mkdir -p "$(dirname "$keep")"
			cp -r "$STATE" "$keep" && peers_log "logs kept in $keep"
		fi
		rm -rf "$STATE"
	fi
	STATE=""
}

exec 9>&1  # the real stdout, for the traps
on_exit() {
	teardown
	echo "$PASSED passed, $FAILED failed" >&9
	[ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null && wait "$WATCHDOG" 2>/dev/null
	[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
}
trap 'on_exit; exit $?' EXIT
trap 'echo "FAIL [$MODE] interrupted or past the deadline" >&9; FAILED=$((FAILED + 1)); exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "FAIL [$MODE] needs root (network namespaces)"
	FAILED=1
	exit 1
fi
for command in prosody prosodyctl ejabberdctl erl dnsmasq openssl ip "$PY"; do
	command -v "$command" >/dev/null || {
		echo "FAIL [$MODE] $command is missing (contrib/install-deps.sh --test)"
		FAILED=1
		exit 1
	}
done

# The watchdog TERMs us; the trap cleans up. Its stdout is closed so a pipe does not wait for it.
(
	trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
	sleep "${INTEROP_DEADLINE:-300}" &
	sleeper=$!
	wait "$sleeper" && kill -TERM $$
) >/dev/null 2>&1 &
WATCHDOG=$!

NS="parley-interop-$MODE-$$"
STATE=$(mktemp -d "/tmp/parley-interop-$MODE.XXXXXX")
peers_log "mode $MODE: netns $NS, state $STATE"
check "network namespace" peers_netns_up "$NS" || exit 1
peers_make_ca "$STATE/certs" || exit 1
for domain in a.example b.example p.example e.example; do
	peers_make_cert "$STATE/certs" "$domain" "$MODE" || exit 1
done
check "dnsmasq" peers_start_dnsmasq "$NS" "$STATE/dns" || exit 1

# Accounts: on each server, one user per peer ("ub" on a.example talks to "ua" on b.example),
# "r" for the restart check, "bouncer" for the bounces.
for domain in a.example b.example; do
	parley_config "$domain"
	for user in ua ub up ue r bouncer; do parley_adduser "$domain" "$user" || exit 1; done
	check "parleyd $domain" parley_start "$domain" || exit 1
done
peers_prosody_config "$STATE/prosody" p.example "${IP[p.example]}" "$MODE" "$STATE/certs"
for user in ua ub r; do
	peers_prosody_register "$STATE/prosody" "$user" p.example "$(password "$user@p.example")" \
		>/dev/null || exit 1
done
check "prosody p.example" peers_start_prosody "$NS" "$STATE/prosody" "${IP[p.example]}" || exit 1
peers_ejabberd_config "$STATE/ejabberd" e.example "${IP[e.example]}" "$MODE" "$STATE/certs"
check "ejabberd e.example" peers_start_ejabberd "$NS" "$STATE/ejabberd" "${IP[e.example]}" || exit 1
for user in ua ub; do
	peers_ejabberdctl "$NS" "$STATE/ejabberd" register "$user" e.example \
		"$(password "$user@e.example")" >/dev/null || exit 1
done

# ---- every pair with a Parley side, both directions ------------------------------------------

short() { echo "${1%%.*}"; }  # a.example -> a
for pair in "a.example b.example" "a.example p.example" "a.example e.example" \
	"b.example p.example" "b.example e.example"; do
	read -r one two <<<"$pair"
	jid1="u$(short "$two")@$one" jid2="u$(short "$one")@$two"
	check "$one <-> $two: chat, subscriptions, presence, iqs" \
		scenario pair "$jid1" "$(password "$jid1")" "$jid2" "$(password "$jid2")"
done

# ---- how Parley authenticated (its log says, per stream) -------------------------------------

for domain in a.example b.example; do
	log="$STATE/$domain/parleyd.stderr"
	if [ "$MODE" = ca ]; then
		check "$domain used SASL EXTERNAL, never dialback" \
			sh -c "grep -q 'authenticated with SASL EXTERNAL' '$log' && ! grep -q 'with dialback' '$log'"
	else
		check "$domain used dialback" log_has "$log" "authenticated with dialback"
	fi
done
check "a.example reached p.example and e.example over s2s" sh -c \
	"grep -q 'a.example -> p.example is up' '$STATE/a.example/parleyd.stderr' &&
	 grep -q 'a.example -> e.example is up' '$STATE/a.example/parleyd.stderr'"

# ---- a domain that does not exist, and one that does not answer ------------------------------

check "unknown domain bounces with remote-server-not-found" \
	scenario bounce "bouncer@a.example" "$(password bouncer@a.example)" someone@nosuch.example \
	remote-server-not-found --timeout 10
check "unreachable domain bounces with remote-server-timeout after the queue window" \
	scenario bounce "bouncer@a.example" "$(password bouncer@a.example)" someone@blackhole.example \
	remote-server-timeout --timeout 30

# ---- Prosody restarted mid-conversation: what was sent meanwhile arrives, once ---------------

check "before the restart" sh -c "
	ip netns exec '$NS' timeout 60 '$PY' '$HERE/scenario.py' send r@a.example \
		'$(password r@a.example)' r@p.example 'before the restart' &&
	ip netns exec '$NS' timeout 60 '$PY' '$HERE/scenario.py' receive r@p.example \
		'$(password r@p.example)' r@a.example 'before the restart'"
peers_stop "$PEERS_PROSODY_PID" prosody 10
PEERS_PROSODY_PID=""
check "sent while p.example is down" \
	scenario send r@a.example "$(password r@a.example)" r@p.example "during 1" "during 2" "during 3"
check "prosody p.example restarted" peers_start_prosody "$NS" "$STATE/prosody" "${IP[p.example]}"
check "what was sent during the outage arrives, each once" \
	scenario receive r@p.example "$(password r@p.example)" r@a.example \
	"during 1" "during 2" "during 3" --timeout 40
check "the conversation goes on" sh -c "
	ip netns exec '$NS' timeout 60 '$PY' '$HERE/scenario.py' send r@a.example \
		'$(password r@a.example)' r@p.example 'after the restart' &&
	ip netns exec '$NS' timeout 60 '$PY' '$HERE/scenario.py' receive r@p.example \
		'$(password r@p.example)' r@a.example 'after the restart'"
exit 0
