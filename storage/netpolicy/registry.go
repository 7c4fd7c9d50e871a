package netpolicy

import "net/netip"

// Range is one entry of the IANA special-purpose address registries (or,
// where marked, an older reservation they no longer list).
type Range struct {
	Prefix netip.Prefix
	// Name is the registry's name for the block.
	Name string
	// RFC is the document that reserves the block.
	RFC string
	// Global is the registry's "Globally Reachable" column: true only where
	// it says True. N/A and False both count as not reachable.
	Global bool
	// EmbedsIPv4 marks a translation prefix whose low 32 bits name an IPv4
	// destination: an address in it is as public as that IPv4 address.
	EmbedsIPv4 bool
}

func r(prefix, name, rfc string, global bool) Range {
	return Range{Prefix: netip.MustParsePrefix(prefix), Name: name, RFC: rfc, Global: global}
}

// Registry is the deny list: the IANA IPv4 Special-Purpose Address
// Registry and IPv6 Special-Purpose Address Registry (RFC 6890, as updated
// through 2025; https://www.iana.org/assignments/iana-ipv4-special-registry
// and iana-ipv6-special-registry), plus three IPv6 blocks the registry
// does not list but no public service lives in. An address is judged by
// the most specific entry that contains it.
var Registry = []Range{
	// IPv4 (iana-ipv4-special-registry).
	r("0.0.0.0/8", `"This network"`, "RFC 791 §3.2", false),
	r("0.0.0.0/32", `"This host on this network"`, "RFC 1122 §3.2.1.3", false),
	r("10.0.0.0/8", "Private-Use", "RFC 1918", false),
	r("100.64.0.0/10", "Shared Address Space", "RFC 6598", false),
	r("127.0.0.0/8", "Loopback", "RFC 1122 §3.2.1.3", false),
	r("169.254.0.0/16", "Link Local", "RFC 3927", false),
	r("172.16.0.0/12", "Private-Use", "RFC 1918", false),
	r("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890 §2.1", false),
	r("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", false),
	r("192.0.0.8/32", "IPv4 dummy address", "RFC 7600", false),
	r("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", true),
	r("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", true),
	r("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 §2.2", false),
	r("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 §2.2", false),
	r("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", false),
	r("192.31.196.0/24", "AS112-v4", "RFC 7535", true),
	r("192.52.193.0/24", "AMT", "RFC 7450", true),
	r("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", false),
	r("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751", false),
	r("192.168.0.0/16", "Private-Use", "RFC 1918", false),
	r("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", true),
	r("198.18.0.0/15", "Benchmarking", "RFC 2544", false),
	r("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", false),
	r("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", false),
	r("240.0.0.0/4", "Reserved", "RFC 1112 §4", false),
	r("255.255.255.255/32", "Limited Broadcast", "RFC 8190, RFC 919 §7", false),

	// IPv6 (iana-ipv6-special-registry).
	r("::1/128", "Loopback Address", "RFC 4291", false),
	r("::/128", "Unspecified Address", "RFC 4291", false),
	r("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", false), // unmapped before lookup
	{Prefix: netip.MustParsePrefix("64:ff9b::/96"), Name: "IPv4-IPv6 Translat.", RFC: "RFC 6052",
		Global: true, EmbedsIPv4: true},
	r("64:ff9b:1::/48", "IPv4-IPv6 Translat.", "RFC 8215", false),
	r("100::/64", "Discard-Only Address Block", "RFC 6666", false),
	r("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780", false),
	r("2001::/23", "IETF Protocol Assignments", "RFC 2928", false),
	r("2001::/32", "TEREDO", "RFC 4380, RFC 8190", false),
	r("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", true),
	r("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", true),
	r("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", true),
	r("2001:2::/48", "Benchmarking", "RFC 5180, RFC Errata 1752", false),
	r("2001:3::/32", "AMT", "RFC 7450", true),
	r("2001:4:112::/48", "AS112-v6", "RFC 7535", true),
	r("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", false),
	r("2001:20::/28", "ORCHIDv2", "RFC 7343", true),
	r("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", true),
	r("2001:db8::/32", "Documentation", "RFC 3849", false),
	r("2002::/16", "6to4", "RFC 3056", false), // Globally Reachable: N/A
	r("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", true),
	r("3fff::/20", "Documentation", "RFC 9637", false),
	r("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", false),
	r("fc00::/7", "Unique-Local", "RFC 4193, RFC 8190", false),
	r("fe80::/10", "Link-Local Unicast", "RFC 4291", false),

	// Not in the registry, refused all the same.
	r("::/96", "IPv4-Compatible IPv6 Address (deprecated)", "RFC 4291 §2.5.5.1", false),
	r("::ffff:0:0:0/96", "IPv4-translated Address (obsolete SIIT)", "RFC 2765 §2.1", false),
	r("fec0::/10", "Site-Local Unicast (deprecated)", "RFC 3879", false),
}
