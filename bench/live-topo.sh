# live-topo.sh - sourced by the bench/live-* scripts: a client - gateway -
# server topology in three network namespaces (names carry a prefix so
# several runs do not collide). Needs root, iproute2.
#   topo_up PREFIX     creates ${P}c ${P}g ${P}s; gateway inside veth ${P}g0
#   topo_down PREFIX   removes them
topo_up() {
	local P=$1
	topo_down "$P" 2>/dev/null
	ip netns add ${P}c && ip netns add ${P}g && ip netns add ${P}s || return 1
	ip link add ${P}c0 netns ${P}c type veth peer name ${P}g0 netns ${P}g
	ip link add ${P}g1 netns ${P}g type veth peer name ${P}s0 netns ${P}s
	ip -n ${P}c addr add 10.88.0.2/24 dev ${P}c0
	ip -n ${P}c addr add fd88::2/64 dev ${P}c0 nodad
	ip -n ${P}g addr add 10.88.0.1/24 dev ${P}g0
	ip -n ${P}g addr add fd88::1/64 dev ${P}g0 nodad
	ip -n ${P}g addr add 198.51.100.1/24 dev ${P}g1
	ip -n ${P}g addr add 2001:db8:88::1/64 dev ${P}g1 nodad
	ip -n ${P}s addr add 198.51.100.10/24 dev ${P}s0
	ip -n ${P}s addr add 2001:db8:88::10/64 dev ${P}s0 nodad
	for n in c g s; do ip -n ${P}$n link set lo up; done
	ip -n ${P}c link set ${P}c0 up
	ip -n ${P}g link set ${P}g0 up
	ip -n ${P}g link set ${P}g1 up
	ip -n ${P}s link set ${P}s0 up
	ip -n ${P}c route add default via 10.88.0.1
	ip -n ${P}c -6 route add default via fd88::1
	ip -n ${P}s route add default via 198.51.100.1
	ip -n ${P}s -6 route add default via 2001:db8:88::1
	ip netns exec ${P}g sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

topo_down() {
	local P=$1
	for n in c g s; do
		ip netns pids ${P}$n 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del ${P}$n 2>/dev/null
	done
	return 0
}
