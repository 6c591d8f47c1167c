#!/bin/bash
# Demo / recipe check: Prosody 0.12 (p.example) and ejabberd 23.01 (e.example)
# federate with each other inside a throwaway network namespace, resolving
# each other through a dnsmasq in the same namespace.
#
#   sudo tests/interop/peers/demo.sh [ca|dialback|both]     (default: both)
#
# mode ca:       test CA, strict certificates, SASL EXTERNAL (XEP-0178) both ways
# mode dialback: self-signed certificates, Server Dialback (XEP-0220) over TLS
#
# Env: PEERS_KEEP=1 keeps the state dir (logs) even on success;
#      PEERS_DEADLINE=seconds for the whole run (default 240).
# Needs root and: apt-get install -y --no-install-recommends prosody ejabberd \
#   dnsmasq-base lua-unbound python3-slixmpp openssl iproute2
# Prints one "PASS|FAIL <check>" line per check and "N passed, N failed".
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/peers.sh"

MODES=${1:-both}
[ "$MODES" = both ] && MODES="ca dialback"
PASSED=0 FAILED=0
NS="" STATE="" WATCHDOG=""
PEERS_DNSMASQ_PID="" PEERS_PROSODY_PID="" PEERS_EJABBERD_PID=""

check() {  # check NAME CMD... : run, count, print
	local name=$1
	shift
	if "$@"; then
		echo "PASS $name"; PASSED=$((PASSED + 1))
	else
		echo "FAIL $name"; FAILED=$((FAILED + 1))
	fi
}

teardown() {
	local t0=$SECONDS
	peers_stop "$PEERS_PROSODY_PID" prosody 10
	peers_stop "$PEERS_EJABBERD_PID" ejabberd 15
	peers_stop "$PEERS_DNSMASQ_PID" dnsmasq 5
	PEERS_PROSODY_PID="" PEERS_EJABBERD_PID="" PEERS_DNSMASQ_PID=""
	[ -n "$NS" ] && peers_netns_down "$NS"
	NS=""
	if [ -n "$STATE" ]; then
		if [ "$FAILED" -gt 0 ] || [ "${PEERS_KEEP:-0}" = 1 ]; then
			peers_log "state (logs) kept in $STATE"
		else
			rm -rf "$STATE"
		fi
	fi
	STATE=""
	peers_log "teardown took $((SECONDS - t0))s"
}

on_exit() {
	teardown
	[ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
	[ -n "$WATCHDOG" ] && wait "$WATCHDOG" 2>/dev/null
}
trap on_exit EXIT
trap 'echo "FAIL interrupted/deadline"; FAILED=$((FAILED + 1)); exit 1' INT TERM

[ "$(id -u)" = 0 ] || { echo "FAIL needs root"; exit 1; }
for c in prosody prosodyctl ejabberdctl erl dnsmasq openssl ip; do
	command -v "$c" >/dev/null || { echo "FAIL missing $c (see header for apt-get line)"; exit 1; }
done
/usr/bin/python3 -c 'import slixmpp' 2>/dev/null || { echo "FAIL missing python3-slixmpp"; exit 1; }

# whole-run deadline: TERM ourselves, the trap cleans up
# (own stdout closed so a pipe reading us does not wait for the sleep)
( trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "${PEERS_DEADLINE:-240}" & sp=$!
  wait "$sp" && kill -TERM $$ ) >/dev/null 2>&1 &
WATCHDOG=$!

PY=/usr/bin/python3
in_ns() { ip netns exec "$NS" "$@"; }
log_has() { grep -qF -- "$2" "$1"; }   # log_has FILE STRING

run_mode() {
	local mode=$1 t0=$SECONDS t c
	NS="parley-peers-$$-$mode"
	STATE=$(mktemp -d "/tmp/parley-peers-$mode.XXXXXX")
	peers_log "=== mode $mode: netns $NS, state $STATE"

	peers_netns_up "$NS" || { check "netns up" false; return; }
	t=$SECONDS
	if [ "$mode" = ca ]; then
		peers_make_ca "$STATE/certs"
	fi
	for d in p.example e.example; do
		peers_make_cert "$STATE/certs" "$d" "$mode" || { check "cert $d" false; return; }
	done
	peers_log "certificates: $((SECONDS - t))s"

	# --- DNS ---
	check "[$mode] dnsmasq up" peers_start_dnsmasq "$NS" "$STATE/dns" || return
	for d in a.example b.example p.example e.example; do
		check "[$mode] SRV _xmpp-server._tcp.$d" in_ns "$PY" "$HERE/dnscheck.py" "_xmpp-server._tcp.$d" SRV "5269 $d"
	done
	check "[$mode] SRV _xmpp-client._tcp.e.example" in_ns "$PY" "$HERE/dnscheck.py" _xmpp-client._tcp.e.example SRV "5222 e.example"
	check "[$mode] SRV of nosuch.example is NXDOMAIN" in_ns "$PY" "$HERE/dnscheck.py" _xmpp-server._tcp.nosuch.example SRV NXDOMAIN
	check "[$mode] getent hosts p.example" sh -c "ip netns exec '$NS' getent hosts p.example | grep -q '^127.0.0.4 '"
	check "[$mode] python getaddrinfo e.example" in_ns "$PY" -c \
		'import socket,sys; sys.exit(socket.getaddrinfo("e.example",5269,socket.AF_INET)[0][4][0] != "127.0.0.5")'
	if command -v dig >/dev/null; then   # dnsutils: only for a human check
		check "[$mode] dig SRV p.example" sh -c "ip netns exec '$NS' dig +short +time=2 +tries=1 SRV _xmpp-server._tcp.p.example | grep -q '5269 p.example.'"
	fi

	# --- Prosody p.example 127.0.0.4 ---
	peers_prosody_config "$STATE/prosody" p.example 127.0.0.4 "$mode" "$STATE/certs"
	check "[$mode] prosodyctl register romeo" peers_prosody_register "$STATE/prosody" romeo p.example 'r0meo-pw'
	check "[$mode] prosodyctl register mercutio" peers_prosody_register "$STATE/prosody" mercutio p.example 'merc-pw'
	t=$SECONDS
	check "[$mode] prosody up" peers_start_prosody "$NS" "$STATE/prosody" 127.0.0.4 || return
	peers_log "prosody listening after $((SECONDS - t))s"

	# --- ejabberd e.example 127.0.0.5 ---
	peers_ejabberd_config "$STATE/ejabberd" e.example 127.0.0.5 "$mode" "$STATE/certs"
	t=$SECONDS
	check "[$mode] ejabberd up" peers_start_ejabberd "$NS" "$STATE/ejabberd" 127.0.0.5 || return
	peers_log "ejabberd listening after $((SECONDS - t))s"
	check "[$mode] ejabberdctl status" peers_ejabberdctl "$NS" "$STATE/ejabberd" status >/dev/null
	check "[$mode] ejabberdctl register juliet" peers_ejabberdctl "$NS" "$STATE/ejabberd" register juliet e.example 'ju1iet-pw'
	check "[$mode] ejabberdctl register nurse" peers_ejabberdctl "$NS" "$STATE/ejabberd" register nurse e.example 'nurse-pw'

	# --- federation, both directions ---
	if [ "$mode" = ca ]; then c=(--cafile "$STATE/certs/ca.crt"); else c=(--insecure); fi
	t=$SECONDS
	check "[$mode] chat romeo@p.example -> juliet@e.example -> back" \
		in_ns timeout 60 "$PY" "$HERE/chat.py" "${c[@]}" --timeout 25 romeo@p.example r0meo-pw juliet@e.example ju1iet-pw
	check "[$mode] chat nurse@e.example -> mercutio@p.example -> back" \
		in_ns timeout 60 "$PY" "$HERE/chat.py" "${c[@]}" --timeout 25 nurse@e.example nurse-pw mercutio@p.example merc-pw
	peers_log "chats took $((SECONDS - t))s"

	# --- which s2s authentication was used (log lines, see NOTES.md) ---
	local pl="$STATE/prosody/prosody.log" el="$STATE/ejabberd/logs/ejabberd.log"
	if [ "$mode" = ca ]; then
		check "[$mode] prosody->ejabberd SASL EXTERNAL" log_has "$pl" "SASL EXTERNAL with e.example succeeded"
		check "[$mode] ejabberd accepted EXTERNAL from p.example" log_has "$el" "Accepted inbound s2s EXTERNAL authentication p.example -> e.example"
		check "[$mode] ejabberd->prosody SASL EXTERNAL" log_has "$el" "Accepted outbound s2s EXTERNAL authentication e.example -> p.example"
		check "[$mode] prosody: e.example chain valid" log_has "$pl" "certificate chain validation result: valid"
		check "[$mode] prosody: incoming e.example complete" log_has "$pl" "Incoming s2s connection e.example->p.example complete"
		check "[$mode] no dialback used" sh -c "! grep -q 'db:result\\|db:verify' '$pl'"
	else
		check "[$mode] prosody: e.example cert not trusted" log_has "$pl" "certificate chain validation result: invalid"
		check "[$mode] ejabberd accepted dialback from p.example" log_has "$el" "Accepted inbound s2s dialback authentication p.example -> e.example"
		check "[$mode] ejabberd->prosody dialback" log_has "$el" "Accepted outbound s2s dialback authentication e.example -> p.example"
		check "[$mode] prosody fell back to dialback" log_has "$pl" "SASL EXTERNAL failed, falling back to dialback"
		check "[$mode] prosody: outgoing p.example->e.example complete" log_has "$pl" "Outgoing s2s connection p.example->e.example complete"
		check "[$mode] prosody: incoming e.example->p.example complete" log_has "$pl" "Incoming s2s connection e.example->p.example complete"
	fi

	t=$SECONDS
	teardown
	peers_log "=== mode $mode done in $((SECONDS - t0))s (teardown $((SECONDS - t))s)"
}

for m in $MODES; do
	case $m in
		ca|dialback) run_mode "$m" ;;
		*) echo "FAIL unknown mode $m"; FAILED=$((FAILED + 1)) ;;
	esac
done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
