package netpolicy

import (
	"fmt"
	"net/netip"
	"strings"
)

// Check returns nil if a may be dialled when private networks are not
// allowed, or an error naming the special-purpose range it is in:
//   - IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as the IPv4
//     address, and so are addresses in the NAT64 well-known prefix
//     64:ff9b::/96 (RFC 6052 §2.1), which a translator forwards there;
//   - otherwise the most specific Registry entry decides: only blocks the
//     registry marks "Globally Reachable: True" may be dialled;
//   - an address in no entry must be global unicast (no multicast).
func Check(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("%q is not an IP address", a)
	}
	orig := a
	a = a.WithZone("").Unmap()
	e, ok := lookup(a)
	if ok && e.EmbedsIPv4 {
		b := a.As16()
		v4 := netip.AddrFrom4([4]byte(b[12:16]))
		if err := Check(v4); err != nil {
			return fmt.Errorf("%s embeds %s (%s, %s): %w", orig, v4, e.Name, e.RFC, err)
		}
		return nil
	}
	switch {
	case ok && !e.Global:
		return fmt.Errorf("%s is in %s (%s, %s), not a public address", orig, e.Prefix, e.Name, e.RFC)
	case !ok && !a.IsGlobalUnicast():
		return fmt.Errorf("%s is not a global unicast address", orig)
	}
	return nil
}

// Public reports whether a may be dialled when private networks are not
// allowed (Check returns nil).
func Public(a netip.Addr) bool { return Check(a) == nil }

// lookup returns the most specific Registry entry containing a (already
// unmapped).
func lookup(a netip.Addr) (Range, bool) {
	var best Range
	found := false
	for _, e := range Registry {
		if e.Prefix.Addr().Is4() != a.Is4() || !e.Prefix.Contains(a) {
			continue
		}
		if !found || e.Prefix.Bits() > best.Prefix.Bits() {
			best, found = e, true
		}
	}
	return best, found
}

// CheckHost judges the host part of a URI (without port; brackets
// allowed) at registration, before any DNS lookup: an IP literal by Check,
// and "localhost" and names under .localhost as loopback (RFC 6761 §6.3).
// Other names return nil: they are judged on the resolved address when a
// connection is made.
func CheckHost(host string) error {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return fmt.Errorf("%s is a loopback name (RFC 6761 §6.3), not a public address", host)
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return Check(a)
	}
	return nil
}
