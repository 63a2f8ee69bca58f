#!/usr/bin/env bash
# gen-captures.sh regenerates the Linux-kernel MPTCP packet captures in
# wire/testdata/captures/ and their MANIFEST.md.
#
# usage: sudo wire/testdata/gen-captures.sh [SCENARIO...]
#        wire/testdata/gen-captures.sh forms FILE.pcap
#
# Each scenario builds two network namespaces (client and server, named
# gmtcap<pid>c/s) joined by three veth pairs, configures the kernel path
# manager (ip mptcp endpoint / limits) and net.mptcp.* sysctls in them, runs
# cmd/linuxpeer on both sides, captures on the client's interfaces with
# tcpdump, merges the per-interface captures into one Ethernet pcap and
# checks it with tshark: the expected MPTCP subtypes are present and nothing
# is malformed. With no arguments all scenarios run and MANIFEST.md is
# rewritten; with scenario names only those pcaps are rewritten. "forms"
# prints the MPTCP option forms of a capture (see the forms function).
#
# Keys, nonces, ports and sequence numbers differ from run to run; the shape
# (which option forms appear, in which direction) does not, apart from timing
# details such as whether a lone 32-bit DATA_ACK shows up. A scenario whose
# checks fail (timing in the kernel can vary) is run again, up to three times.
#
# Needs root, Go, iproute2, tcpdump, tshark (with mergecap), ethtool and nft;
# missing Debian packages are installed with apt-get. Everything the script
# creates (namespaces, processes, temporary files) is removed on exit, also
# on failure or interrupt.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=$HERE/captures
PORT=40000
SIGPORT=40001 # port of the ADD_ADDR-with-port endpoints
SNAP=200 # bytes per packet kept: headers and options, not payload

ALL_SCENARIOS=(mpc-join add-addr remove-addr mp-prio fastclose checksum ipv6 fallback mp-fail mp-fail-rst)

TAG=gmtcap$$
CLI=${TAG}c
SRV=${TAG}s
WORK=
PIDS=()

log() { printf '%s\n' "gen-captures: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	net_down
	if [ -n "$WORK" ]; then
		if [ -n "${KEEP_WORK:-}" ]; then
			log "kept $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- setup

need_tools() {
	local missing=() t
	for t in ip:iproute2 tcpdump:tcpdump tshark:tshark mergecap:wireshark-common \
		ethtool:ethtool nft:nftables; do
		command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		command -v apt-get >/dev/null 2>&1 || die "missing tools: ${missing[*]}"
		log "installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
			{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
			die "could not install ${missing[*]}"
	fi
	command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin
	command -v go >/dev/null 2>&1 || die "go not found"
	[ -e /proc/sys/net/mptcp/enabled ] || die "the kernel has no MPTCP (CONFIG_MPTCP)"
}

# cmdlog records a command in the scenario's command list for MANIFEST.md,
# with the namespace names replaced by "cli" and "srv".
cmdlog() {
	local line="$*"
	line=${line//$CLI/cli}
	line=${line//$SRV/srv}
	line=${line//$WORK\//}
	printf '%s\n' "$line" >>"$WORK/$SCEN.cmds"
}

# cli/srv run a command in the client/server namespace and log it.
cli() {
	cmdlog "cli# $*"
	ip netns exec "$CLI" "$@"
}
srv() {
	cmdlog "srv# $*"
	ip netns exec "$SRV" "$@"
}

# net_up creates the namespaces and three point-to-point paths:
#   path 1: cli c1 192.0.2.1/24    2001:db8:1::1/64  <->  srv s1 192.0.2.2/24    2001:db8:1::2/64
#   path 2: cli c2 198.51.100.1/24 2001:db8:2::1/64  <->  srv s2 198.51.100.2/24 2001:db8:2::2/64
#   path 3: cli c3 203.0.113.1/24  2001:db8:3::1/64  <->  srv s3 203.0.113.2/24  2001:db8:3::2/64
# Offloads are turned off so that captured segments are MSS-sized and carry
# correct TCP checksums, as on a physical link.
net_up() {
	local ns i dev
	ip netns add "$CLI"
	ip netns add "$SRV"
	for ns in "$CLI" "$SRV"; do
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.all.forwarding=0
	done
	local v4=(192.0.2 198.51.100 203.0.113)
	for i in 1 2 3; do
		ip -n "$CLI" link add "c$i" type veth peer name "s$i" netns "$SRV"
		ip -n "$CLI" addr add "${v4[i - 1]}.1/24" dev "c$i"
		ip -n "$SRV" addr add "${v4[i - 1]}.2/24" dev "s$i"
		ip -n "$CLI" addr add "2001:db8:$i::1/64" dev "c$i" nodad
		ip -n "$SRV" addr add "2001:db8:$i::2/64" dev "s$i" nodad
		for dev in "$CLI:c$i" "$SRV:s$i"; do
			ip netns exec "${dev%%:*}" ethtool -K "${dev#*:}" tso off gso off gro off tx off rx off >/dev/null
			ip -n "${dev%%:*}" link set "${dev#*:}" up
		done
	done
	# Each namespace starts with the defaults of a fresh network namespace:
	# no endpoints, limits subflows 2 / add_addr_accepted 0.
}

# net_down stops any process left in the two namespaces (all started by
# this script) and deletes them.
net_down() {
	local ns pids
	for ns in "$CLI" "$SRV"; do
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
		[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
}

# capture_start starts one tcpdump per client interface.
capture_start() {
	local snap=$1 i pid
	CAPS=()
	for i in 1 2 3; do
		ip netns exec "$CLI" tcpdump -i "c$i" -s "$snap" -U --immediate-mode -n -w "$WORK/$SCEN-c$i.pcap" tcp \
			2>"$WORK/$SCEN-c$i.tcpdump" &
		pid=$!
		PIDS+=("$pid")
		CAPS+=("$pid")
	done
	for i in 1 2 3; do
		wait_for "$WORK/$SCEN-c$i.tcpdump" "listening on" || die "tcpdump on c$i did not start"
	done
	cmdlog "cli# tcpdump -i cX -s $snap -U --immediate-mode -w $SCEN-cX.pcap tcp   (for X in 1 2 3)"
	if [ "$snap" -eq 0 ]; then
		echo "full packets captured" >"$WORK/$SCEN.snap"
	else
		echo "first $snap bytes of each packet captured" >"$WORK/$SCEN.snap"
	fi
}

# capture_stop stops the tcpdumps and merges their files into OUT/SCEN.pcap.
capture_stop() {
	local pid
	sleep 0.3 # let the last ACKs and RSTs through
	for pid in "${CAPS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${CAPS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	mergecap -F pcap -w "$OUT/$SCEN.pcap" "$WORK/$SCEN"-c[123].pcap
	cmdlog "mergecap -F pcap -w $SCEN.pcap $SCEN-c1.pcap $SCEN-c2.pcap $SCEN-c3.pcap"
}

# wait_for FILE PATTERN waits up to 5 s for PATTERN to appear in FILE.
wait_for() {
	local i
	for i in $(seq 50); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# server_start ARGS... starts "linuxpeer listen ARGS --json" in the server
# namespace and waits until it listens.
server_start() {
	srv linuxpeer listen "$@" --json 2>"$WORK/$SCEN-srv.json" &
	SERVER=$!
	PIDS+=("$SERVER")
	wait_for "$WORK/$SCEN-srv.json" '"event":"listening"' || die "$SCEN: server did not start: $(cat "$WORK/$SCEN-srv.json")"
}

# server_wait waits for the server started by server_start to exit.
server_wait() {
	wait "$SERVER" || die "$SCEN: server failed: $(cat "$WORK/$SCEN-srv.json")"
}

# client_start ARGS... runs "linuxpeer connect ARGS --json" in the client
# namespace in the background.
client_start() {
	cli linuxpeer connect "$@" --json 2>"$WORK/$SCEN-cli.json" &
	CLIENT=$!
	PIDS+=("$CLIENT")
}

client_wait() {
	wait "$CLIENT" || die "$SCEN: client failed: $(cat "$WORK/$SCEN-cli.json")"
}

# jfield FILE KEY prints the value of KEY in the last summary line of FILE.
jfield() {
	grep '"event":"summary"' "$1" | tail -n 1 | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

# check_transfer verifies that each side received what the other sent, and
# that both sides saw MPTCP (or not, if $1 is "tcp").
check_transfer() {
	local want=${1:-mptcp} c=$WORK/$SCEN-cli.json s=$WORK/$SCEN-srv.json
	[ "$(jfield "$c" sha256_sent)" = "$(jfield "$s" sha256_received)" ] || die "$SCEN: client->server data differs"
	[ "$(jfield "$s" sha256_sent)" = "$(jfield "$c" sha256_received)" ] || die "$SCEN: server->client data differs"
	local m=true
	[ "$want" = tcp ] && m=false
	[ "$(jfield "$c" mptcp_at_start)" = "$m" ] || die "$SCEN: client mptcp_at_start is not $m"
	[ "$(jfield "$s" mptcp_at_start)" = "$m" ] || die "$SCEN: server mptcp_at_start is not $m"
}

# wait_subflows NS N waits up to 5 s until NS has N established MPTCP
# subflows (TCP sockets with the mptcp ULP).
wait_subflows() {
	local i n
	for i in $(seq 100); do
		n=$(ip netns exec "$1" ss -tniH state established 2>/dev/null | grep -c 'tcp-ulp-mptcp' || true)
		[ "$n" -ge "$2" ] && return 0
		sleep 0.05
	done
	ip netns exec "$1" ss -tniaH >&2 || true
	die "$SCEN: $2 subflows did not come up in $1"
}

# ---------------------------------------------------------------- checks

# expect_subtypes lists MPTCP subtypes that must appear in OUT/SCEN.pcap.
expect_subtypes() {
	local f=$OUT/$SCEN.pcap st got
	got=$(tshark -r "$f" -Y mptcp -T fields -e tcp.options.mptcp.subtype 2>"$WORK/tshark.err" | tr ',' '\n' | sort -un | tr '\n' ' ') ||
		die "$SCEN: tshark failed on $f: $(cat "$WORK/tshark.err")"
	for st in "$@"; do
		case " $got " in
		*" $st "*) ;;
		*) die "$SCEN: no MPTCP subtype $st in $f (found: $got)" ;;
		esac
	done
	log "$SCEN: subtypes present: $got"
}

# expect_filter FILTER DESCRIPTION requires at least one packet matching a
# tshark display filter.
expect_filter() {
	local out
	out=$(tshark -r "$OUT/$SCEN.pcap" -Y "$1" 2>"$WORK/tshark.err") || die "$SCEN: tshark failed on filter $1: $(cat "$WORK/tshark.err")"
	[ -n "$out" ] || die "$SCEN: no packet with $2 ($1)"
}

# expect_form REGEX DESCRIPTION [FILTER] requires an MPTCP option whose form
# (as printed by forms) matches the extended regular expression REGEX, in a
# packet matching the tshark display filter FILTER if given.
expect_form() {
	local f=$OUT/$SCEN.pcap
	if [ -n "${3:-}" ]; then
		f=$WORK/$SCEN-filtered.pcap
		tshark -r "$OUT/$SCEN.pcap" -Y "$3" -w "$f" 2>"$WORK/tshark.err" ||
			die "$SCEN: tshark failed on filter $3: $(cat "$WORK/tshark.err")"
	fi
	forms "$f" | cut -f3 | grep -Eq -- "$1" || die "$SCEN: no option of form $2 ($1${3:+ in $3})"
}

# check_clean fails if tshark reports malformed packets or expert errors.
check_clean() {
	local f=$OUT/$SCEN.pcap n size
	n=$(tshark -r "$f" -Y '_ws.malformed || _ws.expert.severity >= 8388608' 2>"$WORK/tshark.err" | wc -l) ||
		die "$SCEN: tshark failed on $f: $(cat "$WORK/tshark.err")"
	[ "$n" -eq 0 ] || die "$SCEN: $n malformed packets or expert errors in $f"
	size=$(stat -c %s "$f")
	[ "$size" -lt 102400 ] || die "$SCEN: $f is $size bytes, over 100 kB"
	log "$SCEN: $(capinfos -c -M "$f" | sed -n 's/^Number of packets: *//p') packets, $size bytes, clean"
}

# ---------------------------------------------------------------- analysis

# forms FILE prints one line per MPTCP option in FILE:
#   frame <TAB> direction <TAB> form
# The options are walked from the raw TCP option bytes (independently of
# tshark's MPTCP dissector) and classified by RFC 8684 form. Client
# addresses end in .1 or ::1, so direction is "c>s" or "s>c".
forms() {
	tshark -r "$1" -T fields -E separator=/t -e frame.number -e ip.src -e ipv6.src \
		-e tcp.flags -e tcp.options 2>/dev/null | awk -F'\t' '
	BEGIN { for (i = 0; i < 256; i++) hexv[sprintf("%02x", i)] = i }
	function b(s, i) { return hexv[substr(s, 2 * i + 1, 2)] }
	function bit(x, m) { return int(x / m) % 2 }
	function be(s, i, n,   v, k) { v = 0; for (k = 0; k < n; k++) v = v * 256 + b(s, i + k); return v }
	function tcpctx(f) {
		if (bit(f, 4)) return "RST"
		if (bit(f, 2) && bit(f, 16)) return "SYN-ACK"
		if (bit(f, 2)) return "SYN"
		return "ACK"
	}
	function mpcflags(x,   s) {
		s = ""
		if (bit(x, 128)) s = s "A"
		if (bit(x, 64)) s = s "B"
		if (bit(x, 32)) s = s "C"
		if (x % 32 - x % 2) s = s "D-G"
		if (bit(x, 1)) s = s "H"
		return s == "" ? "-" : s
	}
	function classify(o, l, ctx,   st, lo, f, base, s, n) {
		st = int(b(o, 2) / 16); lo = b(o, 2) % 16
		if (st == 0) {
			n = (l == 4) ? "no key" : (l == 12) ? "sender key" : (l == 20) ? "both keys" : (l == 22) ? "both keys, data length" : (l == 24) ? "both keys, data length, checksum" : "?"
			return sprintf("MP_CAPABLE %s len=%d v%d flags=%s (%s)", ctx, l, lo, mpcflags(b(o, 3)), n)
		}
		if (st == 1) {
			if (l == 24) return "MP_JOIN ACK len=24 (HMAC)"
			return sprintf("MP_JOIN %s len=%d B=%d", ctx, l, lo % 2)
		}
		if (st == 2) {
			f = b(o, 3); base = 4; s = "DSS"
			if (bit(f, 1)) { s = s (bit(f, 2) ? " ack64" : " ack32"); base += bit(f, 2) ? 8 : 4 }
			if (bit(f, 4)) {
				s = s (bit(f, 8) ? " map64" : " map32")
				n = base + (bit(f, 8) ? 8 : 4)	# offset of the subflow sequence number
				if (be(o, n + 4, 2) == 0) s = s " infinite"
				else if (bit(f, 16) && be(o, n + 4, 2) == 1 && be(o, n, 4) == 0) s = s " DATA_FIN-only"
				else if (bit(f, 16)) s = s "+DATA_FIN"
				base = n + 6
				if (l == base + 2) s = s " csum"
			} else if (bit(f, 16)) s = s " DATA_FIN(no map)"
			return sprintf("%s len=%d", s, l)
		}
		if (st == 3) {
			n = (l == 8 || l == 10 || l == 16 || l == 18) ? "v4" : "v6"
			if (l == 10 || l == 18 || l == 22 || l == 30) n = n "+port"
			return sprintf("ADD_ADDR %s%s len=%d", (lo % 2) ? "echo " : "", n, l)
		}
		if (st == 4) return sprintf("REMOVE_ADDR ids=%d len=%d", l - 3, l)
		if (st == 5) return sprintf("MP_PRIO B=%d len=%d", lo % 2, l)
		if (st == 6) return sprintf("MP_FAIL %s len=%d", ctx, l)
		if (st == 7) return sprintf("MP_FASTCLOSE %s len=%d", ctx, l)
		if (st == 8) return sprintf("MP_TCPRST reason=%d flags=%s len=%d", b(o, 3), (lo % 2) ? "T" : "-", l)
		return sprintf("subtype %d len=%d", st, l)
	}
	{
		src = ($2 != "") ? $2 : $3
		dir = (src ~ /(\.1|::1)$/) ? "c>s" : "s>c"
		fl = $4; sub(/^0x/, "", fl); flags = 0
		for (i = 1; i <= length(fl); i++) flags = flags * 16 + index("0123456789abcdef", tolower(substr(fl, i, 1))) - 1
		ctx = tcpctx(flags)
		o = $5; gsub(/:/, "", o); n = length(o) / 2; i = 0
		while (i < n) {
			k = b(o, i)
			if (k == 0) break
			if (k == 1) { i++; continue }
			l = b(o, i + 1)
			if (l < 2 || i + l > n) { print $1 "\t" dir "\tmalformed TCP option"; break }
			if (k == 30) print $1 "\t" dir "\t" classify(substr(o, 2 * i + 1, 2 * l), l, ctx)
			i += l
		}
	}'
}

# ---------------------------------------------------------------- manifest

# FORM_CATALOG lists the RFC 8684 option forms, one per line:
#   label | extended regex over forms output | why it is absent, if it is
# The regex is matched against the "form" column of forms.
FORM_CATALOG='MP_CAPABLE SYN, no key (len 4, v1) | ^MP_CAPABLE SYN len=4 v1 | -
MP_CAPABLE SYN-ACK, sender key (len 12) | ^MP_CAPABLE SYN-ACK len=12 v1 | -
MP_CAPABLE ACK, both keys (len 20) | ^MP_CAPABLE ACK len=20 | -
MP_CAPABLE ACK with data-level length (len 22) | ^MP_CAPABLE ACK len=22 | -
MP_CAPABLE ACK with data-level length and checksum (len 24) | ^MP_CAPABLE ACK len=24 | -
MP_CAPABLE flag A (checksum required) | ^MP_CAPABLE .*flags=A | -
MP_CAPABLE flag C (no join to the initial address) | ^MP_CAPABLE .*flags=A?B?C | -
MP_CAPABLE flag H (HMAC-SHA256) | ^MP_CAPABLE .*flags=[A-G-]*H | -
MP_CAPABLE flag B (extensibility) | ^MP_CAPABLE .*flags=A?B | Reserved for a future extension; Linux never sets it.
MP_CAPABLE version 0 (RFC 6824) | ^MP_CAPABLE .* v0 | Linux speaks only MPTCP v1 and never sends v0 (a v0 SYN gets plain TCP); v0 test input has to be made by hand.
MP_JOIN SYN (len 12), B=0 | ^MP_JOIN SYN len=12 B=0 | -
MP_JOIN SYN (len 12), B=1 | ^MP_JOIN SYN len=12 B=1 | -
MP_JOIN SYN-ACK (len 16), B=0 | ^MP_JOIN SYN-ACK len=16 B=0 | -
MP_JOIN SYN-ACK (len 16), B=1 | ^MP_JOIN SYN-ACK len=16 B=1 | -
MP_JOIN ACK (len 24) | ^MP_JOIN ACK len=24 | -
DSS DATA_ACK 32-bit only (len 8) | ^DSS ack32 len=8 | -
DSS DATA_ACK 64-bit only (len 12) | ^DSS ack64 len=12 | -
DSS 32-bit DATA_ACK + 64-bit mapping (len 22) | ^DSS ack32 map64 len=22 | -
DSS 64-bit DATA_ACK + 64-bit mapping (len 26) | ^DSS ack64 map64 len=26 | -
DSS 32-bit DATA_ACK + 64-bit mapping + checksum (len 24) | ^DSS ack32 map64 csum len=24 | -
DSS 64-bit DATA_ACK + 64-bit mapping + checksum (len 28) | ^DSS ack64 map64 csum len=28 | -
DSS mapping with 32-bit DSN | map32 | Linux always sends 64-bit data sequence numbers.
DSS mapping without DATA_ACK | ^DSS map | Not seen: once the handshake is done, Linux adds a DATA_ACK to every DSS it sends.
DSS DATA_FIN on a data segment (length includes the DATA_FIN) | ^DSS .*map64\+DATA_FIN | -
DSS DATA_FIN alone (subflow seq 0, length 1) | ^DSS .*DATA_FIN-only | -
DSS infinite mapping (data-level length 0) | ^DSS .* infinite | -
ADD_ADDR IPv4 (len 16, with HMAC) | ^ADD_ADDR v4 len=16 | -
ADD_ADDR IPv4 + port (len 18, with HMAC) | ^ADD_ADDR v4\+port len=18 | -
ADD_ADDR IPv6 (len 28, with HMAC) | ^ADD_ADDR v6 len=28 | -
ADD_ADDR IPv6 + port (len 30, with HMAC) | ^ADD_ADDR v6\+port len=30 | -
ADD_ADDR echo IPv4 (len 8) | ^ADD_ADDR echo v4 len=8 | -
ADD_ADDR echo IPv4 + port (len 10) | ^ADD_ADDR echo v4\+port len=10 | -
ADD_ADDR echo IPv6 (len 20) | ^ADD_ADDR echo v6 len=20 | -
ADD_ADDR echo IPv6 + port (len 22) | ^ADD_ADDR echo v6\+port len=22 | -
REMOVE_ADDR, one ID (len 4) | ^REMOVE_ADDR ids=1 | -
REMOVE_ADDR, several IDs | ^REMOVE_ADDR ids=[2-9] | -
MP_PRIO B=1 (len 3) | ^MP_PRIO B=1 len=3 | -
MP_PRIO B=0 (len 3) | ^MP_PRIO B=0 len=3 | -
MP_PRIO with address ID (len 4, RFC 6824) | ^MP_PRIO .*len=4 | RFC 8684 dropped the address ID; Linux sends the 3-byte form only.
MP_FAIL on an ACK (len 12) | ^MP_FAIL ACK len=12 | -
MP_FAIL on a RST (len 12) | ^MP_FAIL RST len=12 | -
MP_FASTCLOSE on a RST (len 12) | ^MP_FASTCLOSE RST len=12 | -
MP_FASTCLOSE on an ACK (len 12) | ^MP_FASTCLOSE ACK len=12 | RFC 8684 §3.5 allows it, but Linux sends MP_FASTCLOSE only on RST segments.
MP_TCPRST reason 0, unspecified (len 4) | ^MP_TCPRST reason=0 | -
MP_TCPRST reason 6, middlebox interference (len 4) | ^MP_TCPRST reason=6 | -
MP_TCPRST with the T (transient) flag | ^MP_TCPRST .*flags=T | All resets provoked here are permanent (T=0); no scenario provokes a reset Linux marks as transient.
MP_EXPERIMENTAL (subtype 0xf) | ^subtype 15 | Linux never sends it.'

# frames_list "N N N ..." prints the first 12 numbers, then the total.
frames_list() {
	awk '{ n = split($0, f, " "); s = ""; for (i = 1; i <= n && i <= 12; i++) s = s (i > 1 ? ", " : "") f[i]; if (n > 12) s = s sprintf(", … (%d in all)", n); print s }' <<<"$1"
}

# write_manifest prints MANIFEST.md for the pcaps of ALL_SCENARIOS.
write_manifest() {
	local scen f all=$WORK/forms.tsv
	: >"$all"
	for scen in "${ALL_SCENARIOS[@]}"; do
		forms "$OUT/$scen.pcap" | sed "s/^/$scen.pcap\t/" >>"$all"
	done
	cat <<EOT
# Linux kernel MPTCP captures

Packet captures of the Linux kernel's MPTCP (RFC 8684, v1), made by
\`wire/testdata/gen-captures.sh\` (run it as root to regenerate everything:
the pcaps and this file). The wire codecs are tested against them.

- Kernel: Linux $(uname -r) ($(uname -m)), MPTCP built in; $(ip -V 2>&1 | sed 's/, libbpf.*//'); $(tshark --version 2>/dev/null | head -n 1 | sed 's/\.$//').
- Peer program: \`cmd/linuxpeer\` on both sides (Go \`net\` with \`SetMultipathTCP(true)\`).
- Topology: two network namespaces, client (\`cli\`) and server (\`srv\`), joined by three veth pairs:
  path 1 \`c1\` 192.0.2.1 / 2001:db8:1::1 ↔ \`s1\` 192.0.2.2 / 2001:db8:1::2,
  path 2 \`c2\` 198.51.100.1 / 2001:db8:2::1 ↔ \`s2\` 198.51.100.2 / 2001:db8:2::2,
  path 3 \`c3\` 203.0.113.1 / 2001:db8:3::1 ↔ \`s3\` 203.0.113.2 / 2001:db8:3::2
  (documentation prefixes). Client addresses end in \`.1\` / \`::1\`. The server listens on port $PORT;
  ADD_ADDR-with-port endpoints use port $SIGPORT.
- Segmentation and checksum offloads are off on every veth (\`ethtool -K … tso off gso off gro off tx off rx off\`),
  so segments are MSS-sized and TCP checksums are correct, as on a physical link.
- Capture: tcpdump on each client interface (filter \`tcp\`), merged in time order with \`mergecap -F pcap\`:
  classic pcap, link type Ethernet, microsecond timestamps. Snap length $SNAP bytes (headers and options, no payload)
  except where noted (full payload, so DSS checksums can be verified).
- Keys, tokens, nonces, HMACs, ports, sequence numbers and timestamps differ on every run; the shape (which option
  forms appear, in which direction, in which order) does not, apart from timing details (e.g. whether a lone
  32-bit DATA_ACK shows up). Tests derive expected values from the capture itself
  (e.g. the keys in MP_CAPABLE give the tokens and IDSNs of the connection) and use tshark's MPTCP dissector as an
  independent oracle; frame numbers below are those of the checked-in files.
- Linux sends the third ACK of the MP_CAPABLE handshake without data (20 bytes) and repeats MP_CAPABLE, with the
  data-level length (22 bytes, 24 with checksum), on its first data segments if it sends before hearing from the
  peer at the MPTCP level; otherwise its first data carries a DSS.
- Option forms below are computed by \`gen-captures.sh forms FILE\`, which walks the raw TCP option bytes itself;
  "c>s" is client to server. tshark $(tshark --version 2>/dev/null | head -n 1 | sed 's/.*(Wireshark) //; s/ .*//') does not
  display the DSS checksum field (it is there: compare the option length), so checks of DSS checksums must read the
  option bytes.

EOT
	for scen in "${ALL_SCENARIOS[@]}"; do
		f=$OUT/$scen.pcap
		printf '## %s.pcap\n\n' "$scen"
		cat "$WORK/$scen.desc"
		printf '\n%s packets, %s bytes; %s.\n\n' \
			"$(capinfos -c -M "$f" | sed -n 's/^Number of packets: *//p')" "$(stat -c %s "$f")" \
			"$(cat "$WORK/$scen.snap")"
		printf 'Commands (cli# / srv#: run in the client / server namespace, after the topology above):\n\n```\n'
		cat "$WORK/$scen.cmds"
		printf '```\n\n| MPTCP option form | Dir | Count | Frames |\n|---|---|---|---|\n'
		awk -F'\t' -v p="$scen.pcap" '$1 == p {
			k = $4 "\t" $3
			if (!(k in n)) { order[++m] = k; n[k] = 0; fr[k] = "" }
			n[k]++; fr[k] = fr[k] " " $2
		}
		END { for (i = 1; i <= m; i++) { k = order[i]; split(k, kk, "\t"); print kk[1] "\t" kk[2] "\t" n[k] "\t" fr[k] } }' "$all" |
			while IFS=$'\t' read -r form dir count frames; do
				printf '| %s | %s | %s | %s |\n' "$form" "$dir" "$count" "$(frames_list "$frames")"
			done
		printf '\n'
	done
	printf '## Coverage\n\nMPTCP option forms of RFC 8684 §3 and whether a capture holds them (first frame per file).\n\n'
	printf '| Form | Covered in | Note |\n|---|---|---|\n'
	local label re why where
	while IFS='|' read -r label re why; do
		label=$(echo "$label" | sed 's/ *$//')
		re=$(echo "$re" | sed 's/^ *//; s/ *$//')
		why=$(echo "$why" | sed 's/^ *//')
		where=$(RE=$re awk -F'\t' '$4 ~ ENVIRON["RE"] && !($1 in seen) { seen[$1] = 1; s = s (s == "" ? "" : ", ") $1 " #" $2 } END { print s }' "$all")
		if [ -n "$where" ]; then
			[ "$why" = - ] && why=
			printf '| %s | %s | %s |\n' "$label" "$where" "$why"
		else
			[ "$why" != - ] || why="Not provoked by these scenarios."
			printf '| %s | — | %s |\n' "$label" "$why"
		fi
	done <<<"$FORM_CATALOG"
}

# ---------------------------------------------------------------- scenarios
# Each scenario runs with SCEN set, inside fresh namespaces.

scen_mpc_join() {
	DESC="MP_CAPABLE handshake, a second subflow from the client's 'subflow' endpoint 198.51.100.1 (MP_JOIN SYN / SYN-ACK / ACK), DSS mappings and DATA_ACKs, DATA_FIN on close. The server sends 2 KiB on the initial subflow right away; once the join is up, the client marks the initial subflow as backup (an endpoint for 192.0.2.1 without flags, id 2, changed to backup: MP_PRIO B=1), so its 32 KiB go over the joined subflow."
	cli ip mptcp limits set subflows 1
	srv ip mptcp limits set subflows 1
	cli ip mptcp endpoint add 198.51.100.1 dev c2 id 1 subflow
	cli ip mptcp endpoint add 192.0.2.1 dev c1 id 2
	capture_start $SNAP
	server_start --addr 192.0.2.2:$PORT --send-bytes 2k --hold 1500ms --expect-bytes 32k --timeout 10s
	client_start 192.0.2.2:$PORT --local 192.0.2.1 --delay 1s --send-bytes 32k --hold 200ms --expect-bytes 2k --timeout 10s
	wait_subflows "$CLI" 2
	cli ip mptcp endpoint change id 2 backup
	client_wait
	server_wait
	capture_stop
	check_transfer
	expect_subtypes 0 1 2 5
	expect_filter 'tcp.options.mptcp.datafin.flag == 1' 'DATA_FIN'
	expect_filter 'ip.src == 198.51.100.1 && tcp.len > 0' 'data on the joined subflow'
}

scen_add_addr() {
	DESC="ADD_ADDR: the server announces 198.51.100.2 (signal endpoint id 1) and 203.0.113.2 port $SIGPORT (id 2, an ADD_ADDR with port); the client accepts both (limits add_addr_accepted 2), echoes them (E=1) and joins each. The server refuses joins to its initial address (allow_join_initial_addr_port=0), so its MP_CAPABLE carries the C flag."
	srv sysctl -qw net.mptcp.allow_join_initial_addr_port=0
	srv ip mptcp limits set subflows 2
	srv ip mptcp endpoint add 198.51.100.2 dev s2 id 1 signal
	srv ip mptcp endpoint add 203.0.113.2 dev s3 id 2 port $SIGPORT signal
	cli ip mptcp limits set subflows 2 add_addr_accepted 2
	capture_start $SNAP
	server_start --addr 0.0.0.0:$PORT --send-bytes 2k --hold 800ms --expect-bytes 4k --timeout 10s
	client_start 192.0.2.2:$PORT --local 192.0.2.1 --delay 200ms --send-bytes 4k --hold 500ms --expect-bytes 2k --timeout 10s
	wait_subflows "$CLI" 3
	client_wait
	server_wait
	capture_stop
	check_transfer
	expect_subtypes 0 1 2 3
	expect_filter 'tcp.options.mptcp.echo == 1' 'an ADD_ADDR echo'
	expect_filter "tcp.options.mptcp.port == $SIGPORT" 'an ADD_ADDR with port'
}

scen_remove_addr() {
	DESC="REMOVE_ADDR: the server announces 198.51.100.2 (id 1), 203.0.113.2 (id 2) and 198.51.100.3 (id 3) and the client joins all three. Mid-connection the server deletes endpoint id 1 ('ip mptcp endpoint delete id 1': REMOVE_ADDR with one ID), then flushes the other two ('ip mptcp endpoint flush': one REMOVE_ADDR listing two IDs). The kernel closes the subflows to removed addresses with FIN, not RST: they have no data outstanding, so no MP_TCPRST appears."
	srv ip addr add 198.51.100.3/24 dev s2
	srv ip mptcp limits set subflows 3
	srv ip mptcp endpoint add 198.51.100.2 dev s2 id 1 signal
	srv ip mptcp endpoint add 203.0.113.2 dev s3 id 2 signal
	srv ip mptcp endpoint add 198.51.100.3 dev s2 id 3 signal
	cli ip mptcp limits set subflows 3 add_addr_accepted 3
	capture_start $SNAP
	server_start --addr 0.0.0.0:$PORT --send-bytes 2k --hold 1500ms --expect-bytes 2k --timeout 10s
	client_start 192.0.2.2:$PORT --local 192.0.2.1 --delay 200ms --send-bytes 2k --hold 1200ms --expect-bytes 2k --timeout 10s
	wait_subflows "$CLI" 4
	srv ip mptcp endpoint delete id 1
	sleep 0.2
	srv ip mptcp endpoint flush
	client_wait
	server_wait
	capture_stop
	check_transfer
	expect_subtypes 0 1 2 3 4
	expect_form '^REMOVE_ADDR ids=2 ' 'REMOVE_ADDR with two IDs'

}

scen_mp_prio() {
	DESC="MP_PRIO and the MP_JOIN B flag: the server announces 198.51.100.2 from a 'signal backup' endpoint (id 1) and the client's endpoint for 198.51.100.1 (id 1) has only the backup flag, so the client's join to the announced address sends MP_JOIN SYN with B=1 and the server answers with a SYN-ACK with B=1. Mid-connection 'ip mptcp endpoint change id 1 nobackup' on the client sends MP_PRIO with B=0 on that subflow, and 'change id 1 backup' MP_PRIO with B=1."
	srv ip mptcp limits set subflows 1
	srv ip mptcp endpoint add 198.51.100.2 dev s2 id 1 signal backup
	cli ip mptcp limits set subflows 1 add_addr_accepted 1
	cli ip mptcp endpoint add 198.51.100.1 dev c2 id 1 backup
	capture_start $SNAP
	server_start --addr 0.0.0.0:$PORT --delay 400ms --send-bytes 2k --hold 800ms --expect-bytes 2k --timeout 10s
	client_start 192.0.2.2:$PORT --local 192.0.2.1 --delay 200ms --send-bytes 2k --hold 700ms --expect-bytes 2k --timeout 10s
	wait_subflows "$CLI" 2
	cli ip mptcp endpoint change id 1 nobackup
	sleep 0.2
	cli ip mptcp endpoint change id 1 backup
	client_wait
	server_wait
	capture_stop
	check_transfer
	expect_subtypes 0 1 2 3 5
	expect_form '^MP_JOIN SYN len=12 B=1' 'MP_JOIN SYN with B=1'
	expect_form '^MP_PRIO B=0' 'MP_PRIO with B=0'
	expect_form '^MP_PRIO B=1' 'MP_PRIO with B=1'
}

scen_fastclose() {
	DESC="MP_FASTCLOSE: with two subflows up, the client closes its socket with SO_LINGER {1, 0} (linuxpeer --fastclose); Linux answers with RST segments carrying MP_FASTCLOSE (with the peer's key) and MP_TCPRST on every subflow, and the server's socket reports a reset. The client sends right after connecting and the server waits, so the client's first data segment carries MP_CAPABLE with the data-level length (22 bytes)."
	cli ip mptcp limits set subflows 1
	srv ip mptcp limits set subflows 1
	cli ip mptcp endpoint add 198.51.100.1 dev c2 id 1 subflow
	capture_start $SNAP
	server_start --addr 192.0.2.2:$PORT --delay 200ms --send-bytes 2k --hold 3s --expect-reset --timeout 10s
	client_start 192.0.2.2:$PORT --local 192.0.2.1 --send-bytes 2k --hold 500ms --fastclose --timeout 10s
	wait_subflows "$CLI" 2
	client_wait
	server_wait
	capture_stop
	[ "$(jfield "$WORK/$SCEN-srv.json" reset)" = true ] || die "$SCEN: the server saw no reset"
	expect_subtypes 0 1 2 7
}

scen_checksum() {
	DESC="DSS checksums: net.mptcp.checksum_enabled=1 on both sides, so MP_CAPABLE carries the A flag, the client's first data segments carry MP_CAPABLE with data-level length and checksum (24 bytes), and every DSS mapping carries a checksum. Once the join is up the client marks the initial subflow as backup (endpoint id 2 for 192.0.2.1 changed to backup: MP_PRIO B=1), so the server's 8 KiB, sent 1 s after the connection was accepted, go over the joined subflow. That path has initcwnd 2 on the server and the client's ACKs on it are slowed down (tbf 20 kbit/s, 100-byte bucket), so data is still unsent when the server closes right after its write, and the data segments sent after the close carry the DATA_FIN in their mapping (data-level length 8193 for 8192 bytes; the checksum's pseudo-header carries 8193, the sum covers the 8192 payload bytes). Captured with the full payload so the checksums can be verified."
	cli sysctl -qw net.mptcp.checksum_enabled=1
	srv sysctl -qw net.mptcp.checksum_enabled=1
	cli ip mptcp limits set subflows 1
	srv ip mptcp limits set subflows 1
	cli ip mptcp endpoint add 198.51.100.1 dev c2 id 1 subflow
	cli ip mptcp endpoint add 192.0.2.1 dev c1 id 2
	srv ip route change 198.51.100.0/24 dev s2 initcwnd 2
	cli tc qdisc add dev c2 root tbf rate 20kbit burst 100 latency 1s
	capture_start 0
	server_start --addr 192.0.2.2:$PORT --delay 1s --send-bytes 8k --expect-bytes 2k --timeout 10s
	client_start 192.0.2.2:$PORT --local 192.0.2.1 --send-bytes 2k --hold 1500ms --expect-bytes 8k --timeout 10s
	wait_subflows "$CLI" 2
	cli ip mptcp endpoint change id 2 backup
	client_wait
	server_wait
	capture_stop
	check_transfer
	expect_subtypes 0 1 2 5
	expect_filter 'tcp.options.mptcp.checksumreq.flags == 1' 'MP_CAPABLE with the A flag'
	expect_form '^MP_CAPABLE ACK len=24 ' 'MP_CAPABLE with data-level length and checksum'
	expect_form '^DSS .*map64.* csum' 'a DSS mapping with checksum on the joined subflow' 'ip.src == 192.0.2.2 && ip.dst == 198.51.100.1 && tcp.len > 0'
	expect_form '^DSS .*map64\+DATA_FIN csum' 'a DATA_FIN on a data segment'
}

scen_ipv6() {
	DESC="IPv6: the client connects to [2001:db8:1::2]; the server announces 2001:db8:2::2 (id 1) and 2001:db8:3::2 port $SIGPORT (id 2); the client echoes both and joins over IPv6. The 30-byte ADD_ADDR for an IPv6 address with port does not fit in the option space next to TCP timestamps (12 bytes with padding), and this kernel does not drop them to make room, so the server runs with net.ipv4.tcp_timestamps=0 and the whole capture has no timestamps."
	srv sysctl -qw net.ipv4.tcp_timestamps=0
	srv ip mptcp limits set subflows 2
	srv ip mptcp endpoint add 2001:db8:2::2 dev s2 id 1 signal
	srv ip mptcp endpoint add 2001:db8:3::2 dev s3 id 2 port $SIGPORT signal
	cli ip mptcp limits set subflows 2 add_addr_accepted 2
	capture_start $SNAP
	server_start --addr "[::]:$PORT" --send-bytes 2k --hold 800ms --expect-bytes 2k --timeout 10s
	client_start "[2001:db8:1::2]:$PORT" --local 2001:db8:1::1 --delay 200ms --send-bytes 2k --hold 500ms --expect-bytes 2k --timeout 10s
	wait_subflows "$CLI" 3
	client_wait
	server_wait
	capture_stop
	check_transfer
	expect_subtypes 0 1 2 3
	expect_filter 'ipv6 && tcp.options.mptcp.ipv6' 'an ADD_ADDR with an IPv6 address'
}

scen_fallback() {
	DESC="Fallback to TCP at the handshake: MPTCP is disabled in the server's namespace (net.mptcp.enabled=0), so the server's socket is plain TCP and its SYN-ACK has no MP_CAPABLE; the client's MPTCP socket continues as plain TCP."
	srv sysctl -qw net.mptcp.enabled=0
	capture_start $SNAP
	server_start --addr 192.0.2.2:$PORT --send-bytes 2k --expect-bytes 2k --timeout 10s
	client_start 192.0.2.2:$PORT --local 192.0.2.1 --send-bytes 2k --expect-bytes 2k --timeout 10s
	client_wait
	server_wait
	capture_stop
	check_transfer tcp
	expect_subtypes 0
	expect_filter 'tcp.flags.syn == 1 && tcp.flags.ack == 1 && !mptcp' 'a SYN-ACK without MP_CAPABLE'
}

# corrupt_rule MATCH OFFSET prints an nftables rule (for an output chain)
# that rewrites the first payload byte of the first segment matching MATCH
# whose payload starts at byte OFFSET of linuxpeer's seed-1 payload. The
# byte is inverted, so the DSS checksum of its mapping no longer verifies.
corrupt_rule() {
	local hex first
	hex=$(linuxpeer gen --bytes $(($2 + 4)) | tail -c 4 | od -An -tx1 | tr -d ' \n')
	first=$((0x${hex:0:2} ^ 0xff))
	printf '%s @ih,0,32 0x%s limit rate 1/hour burst 1 packets @ih,0,8 set 0x%02x' "$1" "$hex" "$first"
}

scen_mp_fail() {
	DESC="MP_FAIL with fallback to an infinite mapping: DSS checksums on both sides, one subflow. The client sends three 1 KiB writes 150 ms apart (three mappings); an nftables rule on the client's output path inverts the first payload byte of the second one after its DSS checksum was computed (checksum offload is off, so the TCP checksum is computed after the rule and stays valid). The server has already seen a valid checksum on this subflow, so it sends MP_FAIL (RFC 8684 §3.7) and the client answers with MP_FAIL and an infinite mapping; the connection continues as TCP. The delivered data contains the corrupted byte, so no hashes are compared."
	cli sysctl -qw net.mptcp.checksum_enabled=1
	srv sysctl -qw net.mptcp.checksum_enabled=1
	cli nft add table ip gmt
	cli nft add chain ip gmt out '{ type filter hook postrouting priority 0; }'
	cli nft add rule ip gmt out "$(corrupt_rule "ip daddr 192.0.2.2 tcp dport $PORT" 1024)"
	capture_start 0
	server_start --addr 192.0.2.2:$PORT --send-bytes 1k --hold 800ms --timeout 10s
	client_start 192.0.2.2:$PORT --local 192.0.2.1 --delay 100ms --send-bytes 3k --chunk 1k --interval 150ms --hold 300ms --timeout 10s
	client_wait
	server_wait
	capture_stop
	expect_subtypes 0 2 6
	expect_form '^DSS.* infinite' 'an infinite mapping'
}

scen_mp_fail_rst() {
	DESC="MP_FAIL on a joined subflow: DSS checksums on both sides, two subflows. Once the join is up, the client marks its initial subflow as backup (an endpoint for 192.0.2.1 without flags, id 2, changed to backup: MP_PRIO B=1), so its data goes over the joined subflow. An nftables rule zeroes the first four payload bytes (they are not all zero) of the first data segment on the joined subflow; as more than one subflow exists, the server cannot fall back and resets that subflow with a RST carrying MP_FAIL and MP_TCPRST (reason 6, middlebox interference); the client reinjects the data on the initial subflow and the transfer completes intact."
	cli sysctl -qw net.mptcp.checksum_enabled=1
	srv sysctl -qw net.mptcp.checksum_enabled=1
	cli ip mptcp limits set subflows 1
	srv ip mptcp limits set subflows 1
	cli ip mptcp endpoint add 198.51.100.1 dev c2 id 1 subflow
	cli ip mptcp endpoint add 192.0.2.1 dev c1 id 2
	cli nft add table ip gmt
	cli nft add chain ip gmt out '{ type filter hook postrouting priority 0; }'
	cli nft add rule ip gmt out ip saddr 198.51.100.1 tcp dport $PORT meta length gt 1000 @ih,0,32 != 0 limit rate 1/hour burst 1 packets @ih,0,32 set 0
	capture_start $SNAP
	server_start --addr 192.0.2.2:$PORT --send-bytes 1k --hold 2s --expect-bytes 8k --timeout 10s
	client_start 192.0.2.2:$PORT --local 192.0.2.1 --delay 1s --send-bytes 8k --hold 500ms --expect-bytes 1k --timeout 10s
	wait_subflows "$CLI" 2
	cli ip mptcp endpoint change id 2 backup
	client_wait
	server_wait
	capture_stop
	check_transfer
	expect_subtypes 0 1 2 5 6 8
}

# ---------------------------------------------------------------- main

# run_scenario runs scenario $SCEN once in a subshell, in fresh namespaces,
# and checks its pcap. The subshell's traps stop what it started. Timing
# (a join not up yet when an endpoint changes) can make a run fail, so the
# caller retries.
run_scenario() {
	(
		PIDS=()
		trap 'scen_cleanup' EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		: >"$WORK/$SCEN.cmds"
		log "$SCEN: running"
		net_up
		"scen_${SCEN//-/_}"
		printf '%s\n' "$DESC" >"$WORK/$SCEN.desc"
		check_clean
	)
}

scen_cleanup() {
	local rc=$? pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	net_down
	exit "$rc"
}

main() {
	if [ "${1:-}" = forms ]; then
		if [ $# -ne 2 ] || [ ! -r "$2" ]; then
			die "usage: $0 forms FILE.pcap"
		fi
		forms "$2"
		return
	fi
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
	local scen scens=("$@")
	[ ${#scens[@]} -gt 0 ] || scens=("${ALL_SCENARIOS[@]}")
	for scen in "${scens[@]}"; do
		declare -F "scen_${scen//-/_}" >/dev/null || die "unknown scenario $scen (have: ${ALL_SCENARIOS[*]})"
	done
	need_tools
	WORK=$(mktemp -d /tmp/gmtcap.XXXXXX)
	mkdir -p "$OUT" "$WORK/bin"
	(cd "$REPO" && go build -o "$WORK/bin/linuxpeer" ./cmd/linuxpeer) || die "building cmd/linuxpeer failed"
	PATH=$WORK/bin:$PATH
	for scen in "${scens[@]}"; do
		SCEN=$scen
		local try ok='' rc
		for try in 1 2 3; do
			# In the background, so that a signal to this script is handled
			# at once; not "if run_scenario", so that errexit stays in force
			# inside.
			run_scenario &
			PIDS+=("$!")
			set +e
			wait "$!"
			rc=$?
			set -e
			unset 'PIDS[${#PIDS[@]}-1]'
			if [ "$rc" -eq 0 ]; then
				ok=1
				break
			fi
			[ "$rc" -lt 128 ] || exit "$rc" # interrupted
			log "$SCEN: attempt $try failed"
			if [ -n "${KEEP_WORK:-}" ]; then
				mkdir -p "$WORK/failed-$SCEN-$try"
				mv "$WORK/$SCEN"[-.]* "$WORK/failed-$SCEN-$try/" 2>/dev/null || true
			fi
		done
		[ -n "$ok" ] || die "$SCEN: failed three times"
	done
	if [ ${#scens[@]} -eq ${#ALL_SCENARIOS[@]} ]; then
		write_manifest >"$OUT/MANIFEST.md"
		log "wrote $OUT/MANIFEST.md"
	else
		log "not all scenarios ran: MANIFEST.md left as it was"
	fi
}

main "$@"
