package netpolicy_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage/netpolicy"
)

// TestCheck: every special-purpose range of the IANA registries that is
// not globally reachable is refused, in both families and in the IPv6
// forms that carry an IPv4 address; the globally reachable entries and
// ordinary public addresses are allowed (checklist L6, issue #13 item 8).
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		public     bool
	}{
		// IPv4 special-purpose ranges.
		{"v4/this-network", "0.1.2.3", false},
		{"v4/unspecified", "0.0.0.0", false},
		{"v4/private-10", "10.1.2.3", false},
		{"v4/shared-cgnat", "100.64.0.1", false},
		{"v4/shared-cgnat-last", "100.127.255.254", false},
		{"v4/loopback", "127.0.0.1", false},
		{"v4/loopback-other", "127.255.0.9", false},
		{"v4/link-local-metadata", "169.254.169.254", false},
		{"v4/private-172-16", "172.16.0.1", false},
		{"v4/private-172-31", "172.31.255.1", false},
		{"v4/ietf-protocol-assignments", "192.0.0.1", false},
		{"v4/ietf-protocol-assignments-high", "192.0.0.200", false},
		{"v4/dummy", "192.0.0.8", false},
		{"v4/nat64-discovery", "192.0.0.170", false},
		{"v4/test-net-1", "192.0.2.10", false},
		{"v4/6to4-relay-anycast", "192.88.99.1", false},
		{"v4/private-192-168", "192.168.0.10", false},
		{"v4/benchmarking-198-18", "198.18.0.1", false},
		{"v4/benchmarking-198-19", "198.19.255.254", false},
		{"v4/test-net-2", "198.51.100.7", false},
		{"v4/test-net-3", "203.0.113.9", false},
		{"v4/reserved-240", "240.0.0.1", false},
		{"v4/reserved-254", "254.1.2.3", false},
		{"v4/broadcast", "255.255.255.255", false},
		{"v4/multicast", "224.0.0.1", false},
		// IPv4 entries marked Globally Reachable: True, and public addresses.
		{"v4/global/pcp-anycast", "192.0.0.9", true},
		{"v4/global/turn-anycast", "192.0.0.10", true},
		{"v4/global/as112", "192.31.196.1", true},
		{"v4/global/amt", "192.52.193.1", true},
		{"v4/global/as112-delegation", "192.175.48.1", true},
		{"v4/public", "93.184.216.34", true},
		{"v4/public-next-to-cgnat", "100.128.0.1", true},
		{"v4/public-next-to-172-16", "172.32.0.1", true},
		{"v4/public-next-to-benchmarking", "198.20.0.1", true},

		// IPv6 special-purpose ranges.
		{"v6/loopback", "::1", false},
		{"v6/unspecified", "::", false},
		{"v6/v4-mapped-loopback", "::ffff:127.0.0.1", false},
		{"v6/v4-mapped-private", "::ffff:10.0.0.1", false},
		{"v6/v4-mapped-benchmarking", "::ffff:198.18.0.1", false},
		{"v6/v4-compatible-private", "::10.0.0.1", false},
		{"v6/v4-compatible-public", "::93.184.216.34", false},
		{"v6/siit-translated", "::ffff:0:10.0.0.1", false},
		{"v6/nat64-private", "64:ff9b::10.0.0.1", false},
		{"v6/nat64-loopback", "64:ff9b::7f00:1", false},
		{"v6/nat64-metadata", "64:ff9b::169.254.169.254", false},
		{"v6/nat64-local-use", "64:ff9b:1::1", false},
		{"v6/discard-only", "100::1", false},
		{"v6/dummy-prefix", "100:0:0:1::1", false},
		{"v6/ietf-protocol-assignments", "2001:0:1::1", false},
		{"v6/teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2", false},
		{"v6/teredo-private-client", "2001:0:53aa:64c:0:0:f5ff:fffe", false},
		{"v6/benchmarking", "2001:2::1", false},
		{"v6/orchid-deprecated", "2001:10::1", false},
		{"v6/documentation", "2001:db8::1", false},
		{"v6/6to4-of-private", "2002:0a00:0001::1", false},
		{"v6/6to4-of-loopback", "2002:7f00:0001::1", false},
		{"v6/6to4-of-public", "2002:5db8:d822::1", false}, // Globally Reachable: N/A
		{"v6/documentation-3fff", "3fff::1", false},
		{"v6/srv6", "5f00::1", false},
		{"v6/unique-local", "fd00::1", false},
		{"v6/unique-local-fc", "fc00::1", false},
		{"v6/link-local", "fe80::1", false},
		{"v6/link-local-zone", "fe80::1%eth0", false},
		{"v6/site-local", "fec0::1", false},
		{"v6/multicast", "ff02::1", false},
		// IPv6 entries marked Globally Reachable: True, and public addresses.
		{"v6/global/nat64-public", "64:ff9b::93.184.216.34", true},
		{"v6/global/pcp-anycast", "2001:1::1", true},
		{"v6/global/turn-anycast", "2001:1::2", true},
		{"v6/global/dns-sd-srp", "2001:1::3", true},
		{"v6/global/amt", "2001:3::1", true},
		{"v6/global/as112", "2001:4:112::1", true},
		{"v6/global/orchid-v2", "2001:20::1", true},
		{"v6/global/drone-det", "2001:30::1", true},
		{"v6/global/as112-delegation", "2620:4f:8000::1", true},
		{"v6/v4-mapped-public", "::ffff:93.184.216.34", true},
		{"v6/public", "2606:4700:4700::1111", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := netip.MustParseAddr(tc.addr)
			err := netpolicy.Check(a)
			if (err == nil) != tc.public {
				t.Fatalf("Check(%s) = %v, want public=%v", tc.addr, err, tc.public)
			}
			if netpolicy.Public(a) != tc.public {
				t.Fatalf("Public(%s) disagrees with Check", tc.addr)
			}
		})
	}
}

// TestCheckNamesTheRange: a refusal says which registry entry, and which
// RFC, so an operator can tell why a URI was refused.
func TestCheckNamesTheRange(t *testing.T) {
	err := netpolicy.Check(netip.MustParseAddr("198.18.0.1"))
	if err == nil || !strings.Contains(err.Error(), "198.18.0.0/15") || !strings.Contains(err.Error(), "RFC 2544") {
		t.Fatalf("Check(198.18.0.1) = %v, want the range and its RFC", err)
	}
	err = netpolicy.Check(netip.MustParseAddr("64:ff9b::a00:1"))
	if err == nil || !strings.Contains(err.Error(), "10.0.0.1") || !strings.Contains(err.Error(), "RFC 1918") {
		t.Fatalf("Check(64:ff9b::a00:1) = %v, want the embedded address and its range", err)
	}
}

// TestRegistryEntries: every entry is a valid, canonical prefix, listed
// once, with a name and an RFC.
func TestRegistryEntries(t *testing.T) {
	seen := map[netip.Prefix]bool{}
	for _, e := range netpolicy.Registry {
		if e.Prefix != e.Prefix.Masked() || e.Name == "" || !strings.HasPrefix(e.RFC, "RFC ") {
			t.Errorf("entry %+v: prefix not canonical, or no name or RFC", e)
		}
		if seen[e.Prefix] {
			t.Errorf("%s listed twice", e.Prefix)
		}
		seen[e.Prefix] = true
	}
}

// TestCheckHost: at registration, IP literals and loopback names are
// judged without any DNS lookup; other names are left to connect time.
func TestCheckHost(t *testing.T) {
	for _, tc := range []struct {
		name, host string
		public     bool
	}{
		{"localhost", "localhost", false},
		{"localhost-upper-dot", "LOCALHOST.", false},
		{"sub-localhost", "app1.localhost", false},
		{"v4-literal-private", "10.0.0.1", false},
		{"v4-literal-benchmarking", "198.18.0.1", false},
		{"v6-literal-bracketed", "[::1]", false},
		{"v6-literal-nat64", "[64:ff9b::a00:1]", false},
		{"v6-literal-6to4", "[2002:a00:1::1]", false},
		{"v4-literal-public", "93.184.216.34", true},
		{"v6-literal-public", "[2606:4700:4700::1111]", true},
		{"name", "app.example.com", true},
		{"name-like-localhost", "localhost.example.com", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := netpolicy.CheckHost(tc.host); (err == nil) != tc.public {
				t.Fatalf("CheckHost(%q) = %v, want public=%v", tc.host, err, tc.public)
			}
		})
	}
}
