# shellcheck shell=bash
# shellcheck disable=SC2034,SC2086,SC2116  # pid lists split on purpose; PEERS_*_PID are for callers
# Helpers to run Debian 12's Prosody 0.12, ejabberd 23.01 and dnsmasq as
# throwaway s2s test peers inside a network namespace. Source this file; see
# ../federation.sh for the whole sequence and NOTES.md for why things are done this way.
# Needs root. Every wait is bounded. Nothing is written outside the state dir
# except /etc/netns/$NS/ (removed again by peers_netns_down).

PEERS_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

peers_log() { printf '%s [peers] %s\n' "$(date +%H:%M:%S.%N | cut -c1-12)" "$*" >&2; }

# peers_render TEMPLATE OUT KEY=VALUE... : replace every @KEY@ by VALUE;
# fails if a placeholder is left over.
peers_render() {
	local src=$1 dst=$2 kv expr=()
	shift 2
	for kv in "$@"; do
		expr+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${expr[@]}" "$src" >"$dst" || return 1
	if grep -n '@[A-Z_]\+@' "$dst" >&2; then
		peers_log "unfilled placeholder in $dst"; return 1
	fi
}

# --- namespace -------------------------------------------------------------

# peers_netns_up NS : new netns with lo up and its own resolv.conf -> 127.0.0.1
peers_netns_up() {
	local ns=$1
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up || return 1
	[ -d /etc/netns ] || { mkdir /etc/netns && touch "/tmp/.peers-created-etc-netns-$ns"; }
	mkdir -p "/etc/netns/$ns"
	echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
	# also pin /etc/hosts so no *.example of the host's file leaks in; keep the
	# machine's hostname (Erlang looks it up, over and over, for -sname)
	printf '127.0.0.1\tlocalhost %s\n::1\tlocalhost\n' "$(hostname)" >"/etc/netns/$ns/hosts"
}

# peers_netns_down NS : TERM (then KILL after 5 s) every process still in the
# netns - they are all ours - then delete it and /etc/netns/NS.
peers_netns_down() {
	local ns=$1 pids i
	if ip netns list | grep -qw "$ns"; then
		pids=$(ip netns pids "$ns" 2>/dev/null)
		if [ -n "$pids" ]; then
			peers_log "netns $ns: TERM left-over pids: $(echo $pids)"
			kill -TERM $pids 2>/dev/null
			for i in $(seq 50); do
				pids=$(ip netns pids "$ns" 2>/dev/null)
				[ -z "$pids" ] && break
				sleep 0.1
			done
			[ -n "$pids" ] && { peers_log "netns $ns: KILL $(echo $pids)"; kill -KILL $pids 2>/dev/null; sleep 0.2; }
		fi
		ip netns del "$ns"
	fi
	rm -rf "/etc/netns/$ns"
	if [ -e "/tmp/.peers-created-etc-netns-$ns" ]; then
		rmdir /etc/netns 2>/dev/null
		rm -f "/tmp/.peers-created-etc-netns-$ns"
	fi
}

# peers_wait_tcp NS IP PORT TIMEOUT_S : until a TCP connect succeeds
peers_wait_tcp() {
	local ns=$1 ip=$2 port=$3 t=$4 end
	end=$((SECONDS + t))
	while [ $SECONDS -lt $end ]; do
		if ip netns exec "$ns" timeout 1 bash -c "exec 3<>/dev/tcp/$ip/$port" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	peers_log "timeout: nothing listening on $ip:$port in $ns after ${t}s"
	return 1
}

# peers_stop PID NAME [TIMEOUT_S=10] : TERM, wait, KILL
peers_stop() {
	local pid=$1 name=$2 t=${3:-10} i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq $((t * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		peers_log "$name ($pid) ignored TERM for ${t}s, KILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# --- certificates ----------------------------------------------------------

# peers_make_ca DIR : DIR/ca.key DIR/ca.crt. Make it in both modes: the peers'
# CA file is always DIR/ca.crt; in mode dialback it signed none of the
# (self-signed) certificates, so nothing presented verifies.
peers_make_ca() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 365 \
		-keyout "$d/ca.key" -out "$d/ca.crt" -subj "/CN=Parley interop test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# peers_make_cert DIR DOMAIN MODE : DIR/DOMAIN.key DIR/DOMAIN.crt (leaf,
# then CA for mode ca) and DIR/DOMAIN.pem (key + crt, for ejabberd).
# MODE ca: signed by DIR/ca.{key,crt}; MODE dialback: self-signed.
# SAN dNSName=DOMAIN and EKU serverAuth+clientAuth (an s2s initiator presents
# its certificate as a TLS *client*; without clientAuth in the EKU OpenSSL-based
# receivers reject it for SASL EXTERNAL).
peers_make_cert() {
	local d=$1 dom=$2 mode=$3 ext
	mkdir -p "$d"
	ext="$d/$dom.ext"
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth,clientAuth" \
		"subjectAltName=DNS:$dom" >"$ext"
	openssl req -new -nodes -newkey rsa:2048 -keyout "$d/$dom.key" -out "$d/$dom.csr" \
		-subj "/CN=$dom" 2>/dev/null || return 1
	if [ "$mode" = ca ]; then
		openssl x509 -req -in "$d/$dom.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
			-CAcreateserial -days 365 -sha256 -extfile "$ext" -out "$d/$dom.leaf" 2>/dev/null || return 1
		cat "$d/$dom.leaf" "$d/ca.crt" >"$d/$dom.crt"
	else
		openssl x509 -req -in "$d/$dom.csr" -signkey "$d/$dom.key" \
			-days 365 -sha256 -extfile "$ext" -out "$d/$dom.crt" 2>/dev/null || return 1
	fi
	cat "$d/$dom.key" "$d/$dom.crt" >"$d/$dom.pem"
	chmod 600 "$d/$dom.key" "$d/$dom.pem"
	rm -f "$d/$dom.csr" "$d/$dom.leaf" "$ext"
}

# --- dnsmasq ---------------------------------------------------------------

# peers_start_dnsmasq NS DIR : sets PEERS_DNSMASQ_PID
peers_start_dnsmasq() {
	local ns=$1 d=$2
	mkdir -p "$d"
	peers_render "$PEERS_HERE/dnsmasq.conf.in" "$d/dnsmasq.conf" DIR="$d" \
		A_IP=127.0.0.2 B_IP=127.0.0.3 P_IP=127.0.0.4 E_IP=127.0.0.5 BLACKHOLE_IP=127.0.0.9 || return 1
	ip netns exec "$ns" dnsmasq --conf-file="$d/dnsmasq.conf" --keep-in-foreground \
		>"$d/dnsmasq.stderr" 2>&1 &
	PEERS_DNSMASQ_PID=$!
	peers_wait_tcp "$ns" 127.0.0.1 53 5
}

# --- Prosody ---------------------------------------------------------------

# peers_prosody_config DIR DOMAIN IP MODE CERTDIR (CERTDIR from peers_make_ca/_cert)
peers_prosody_config() {
	local d=$1 dom=$2 ip=$3 mode=$4 cd=$5 sa=false ca=$5/ca.crt
	[ "$mode" = ca ] && sa=true
	mkdir -p "$d/data"
	peers_render "$PEERS_HERE/prosody.cfg.lua.in" "$d/prosody.cfg.lua" \
		DIR="$d" DOMAIN="$dom" IP="$ip" CERT="$cd/$dom.crt" KEY="$cd/$dom.key" \
		CAFILE="$ca" SECURE_AUTH="$sa" CERTDIR="$cd"
}

# peers_prosody_register DIR USER DOMAIN PASSWORD : works offline (before start)
peers_prosody_register() {
	local d=$1
	timeout 20 prosodyctl --config "$d/prosody.cfg.lua" register "$2" "$3" "$4" </dev/null
}

# peers_start_prosody NS DIR IP : sets PEERS_PROSODY_PID
peers_start_prosody() {
	local ns=$1 d=$2 ip=$3
	ip netns exec "$ns" prosody --config "$d/prosody.cfg.lua" -F \
		>"$d/prosody.stderr" 2>&1 </dev/null &
	PEERS_PROSODY_PID=$!
	peers_wait_tcp "$ns" "$ip" 5269 15 && peers_wait_tcp "$ns" "$ip" 5222 5
}

# --- ejabberd --------------------------------------------------------------

PEERS_EJ_NODE=ejabberd@localhost
PEERS_EJ_DISTPORT=5210
PEERS_EJ_ERL_LIBS=/usr/lib/x86_64-linux-gnu

# peers_ejabberd_config DIR DOMAIN IP MODE CERTDIR
peers_ejabberd_config() {
	local d=$1 dom=$2 ip=$3 mode=$4 cd=$5 db="mod_s2s_dialback: {}" ca=$5/ca.crt
	[ "$mode" = ca ] && db="# mod_s2s_dialback: off in mode ca"
	mkdir -p "$d/db" "$d/logs"
	PEERS_EJ_COOKIE=${PEERS_EJ_COOKIE:-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}
	peers_render "$PEERS_HERE/ejabberd.yml.in" "$d/ejabberd.yml" \
		DIR="$d" DOMAIN="$dom" IP="$ip" PEM="$cd/$dom.pem" CAFILE="$ca" DIALBACK="$db" || return 1
	peers_render "$PEERS_HERE/ejabberdctl.cfg.in" "$d/ejabberdctl.cfg" \
		DIR="$d" NODE="$PEERS_EJ_NODE" DISTPORT="$PEERS_EJ_DISTPORT" COOKIE="$PEERS_EJ_COOKIE" || return 1
	cp "$PEERS_HERE/inetrc.in" "$d/inetrc"
}

# peers_start_ejabberd NS DIR IP : runs beam directly (what 'ejabberdctl
# foreground' runs, minus the su and the wrapper shell), as root, no epmd.
# Sets PEERS_EJABBERD_PID (the beam.smp pid).
peers_start_ejabberd() {
	local ns=$1 d=$2 ip=$3
	ip netns exec "$ns" env HOME="$d" \
		EJABBERD_CONFIG_PATH="$d/ejabberd.yml" EJABBERD_LOG_PATH="$d/logs/ejabberd.log" \
		EJABBERD_PID_PATH="$d/ejabberd.pid" ERL_INETRC="$d/inetrc" \
		ERL_LIBS="$PEERS_EJ_ERL_LIBS" ERL_CRASH_DUMP="$d/logs/erl_crash.dump" ERL_CRASH_DUMP_BYTES=0 \
		ERL_MAX_PORTS=32000 ERL_MAX_ETS_TABLES=1400 CONTRIB_MODULES_CONF_DIR="$d/modules.d" \
		erl -sname "$PEERS_EJ_NODE" -setcookie "$PEERS_EJ_COOKIE" \
		-erl_epmd_port "$PEERS_EJ_DISTPORT" -start_epmd false \
		-kernel inet_dist_use_interface '{127,0,0,1}' \
		-noinput +K true +P 250000 \
		-mnesia dir "\"$d/db\"" -s ejabberd \
		>"$d/ejabberd.stdout" 2>&1 </dev/null &
	PEERS_EJABBERD_PID=$!
	peers_wait_tcp "$ns" "$ip" 5269 60 && peers_wait_tcp "$ns" "$ip" 5222 5
}

# peers_ejabberdctl NS DIR ARGS... : e.g. register juliet e.example secret;
# status; stop. Needs the node running (distribution on 127.0.0.1:DISTPORT).
peers_ejabberdctl() {
	local ns=$1 d=$2
	shift 2
	ip netns exec "$ns" env HOME="$d" timeout 30 ejabberdctl \
		--config-dir "$d" --ctl-config "$d/ejabberdctl.cfg" --config "$d/ejabberd.yml" \
		--logs "$d/logs" --spool "$d/db" --node "$PEERS_EJ_NODE" "$@" </dev/null
}
