package main

import (
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage/postgres/pgproc"
)

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{name: "ipv4 loopback", url: "http://127.0.0.1:8080", ok: true},
		{name: "ipv6 loopback", url: "http://[::1]:8080", ok: true},
		{name: "localhost", url: "http://localhost:8080", ok: true},
		{name: "other loopback address", url: "http://127.0.0.2:8080", ok: true},
		{name: "remote host", url: "https://id.example.com", ok: false},
		{name: "private address", url: "http://10.0.0.1:8080", ok: false},
		{name: "not http", url: "ftp://127.0.0.1/", ok: false},
		{name: "no host", url: "http://", ok: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkLoopback(tc.url); (err == nil) != tc.ok {
				t.Errorf("checkLoopback(%q) = %v, want ok=%v", tc.url, err, tc.ok)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		q    float64
		want float64
	}{
		{name: "empty", in: nil, q: 0.5, want: 0},
		{name: "p50", in: d, q: 0.50, want: 51},
		{name: "p99", in: d, q: 0.99, want: 100},
		{name: "p100 clamps", in: d, q: 1, want: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pct(tc.in, tc.q); got != tc.want {
				t.Errorf("pct = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{name: "remote target", args: []string{"--url", "https://id.example.com"}},
		{name: "too long", args: []string{"--duration", "6m"}},
		{name: "no concurrency", args: []string{"--concurrency", "0"}},
		{name: "unknown scenario", args: []string{"--scenarios", "ddos"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := run(t.Context(), tc.args, os.Stdout); err == nil {
				t.Error("run accepted the flags")
			}
		})
	}
}

func TestRSSOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	if got := rssKiB(os.Getpid()); got <= 0 {
		t.Errorf("rssKiB(self) = %d, want > 0", got)
	}
}

// TestForwardedForAddresses: each simulated browser gets its own address
// inside the benchmarking range 198.18.0.0/15.
func TestForwardedForAddresses(t *testing.T) {
	bench := netip.MustParsePrefix("198.18.0.0/15")
	seen := map[string]bool{}
	for range 1000 {
		a := forwardedFor(nil).addr
		ip, err := netip.ParseAddr(a)
		if err != nil || !bench.Contains(ip) {
			t.Fatalf("address %q is not in %s (%v)", a, bench, err)
		}
		if seen[a] {
			t.Fatalf("address %s handed out twice", a)
		}
		seen[a] = true
	}
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.json", `{"results":[{"scenario":"refresh","per_second":500,"server_cpu_ms_per_iteration":1.5},{"scenario":"sso","per_second":10}]}`)
	b := write("b.json", `{"results":[{"scenario":"refresh","per_second":1000,"server_cpu_ms_per_iteration":1}]}`)
	var out strings.Builder
	if err := compare(a+","+b, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "refresh") || !strings.Contains(out.String(), "0.50") || strings.Contains(out.String(), "sso") {
		t.Errorf("compare printed:\n%s", out.String())
	}
	for _, bad := range []string{a, a + "," + dir + "/missing.json", a + "," + write("c.json", "not json")} {
		if err := compare(bad, &out); err == nil {
			t.Errorf("compare(%q) succeeded", bad)
		}
	}
}

// TestProcCPU: the meter reads this process's CPU from /proc and counts
// the time spent between two readings.
func TestProcCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system") // the meter reports 0 there
	}
	m := startCPU(os.Getpid(), 0)
	// Spin until the kernel has counted a tick (10 ms of CPU), with a
	// bound on the work so a broken meter fails instead of hanging.
	sum := 0
	for i := 0; i < 1<<34 && pgproc.CPU(os.Getpid(), false) == m.srv; i++ {
		for j := range 1 << 16 {
			sum += j
		}
	}
	if srv, pg := m.since(); srv <= 0 || pg != 0 || sum < 0 {
		t.Errorf("since = %v, %v; want a positive server time and no PostgreSQL time", srv, pg)
	}
	if got := perIteration(10*time.Millisecond, 4); got != 2.5 {
		t.Errorf("perIteration = %v, want 2.5", got)
	}
}

// TestCodeRedirect: a sign-in that ends without a page (oidc-provider's
// bench interaction) is recognised by the redirect to the client with a
// code, and nothing else is.
func TestCodeRedirect(t *testing.T) {
	redirect := func(status int, loc string) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Location": {loc}}}
	}
	for _, tc := range []struct {
		name string
		resp *http.Response
		want bool
	}{
		{name: "303 with a code", resp: redirect(http.StatusSeeOther, "http://127.0.0.1:9/callback?code=abc&state=x"), want: true},
		{name: "302 with a code", resp: redirect(http.StatusFound, "http://127.0.0.1:9/callback?code=abc"), want: true},
		{name: "redirect with an error", resp: redirect(http.StatusSeeOther, "http://127.0.0.1:9/callback?error=access_denied")},
		{name: "redirect to an interaction", resp: redirect(http.StatusSeeOther, "/interaction/xyz")},
		{name: "login page", resp: &http.Response{StatusCode: http.StatusOK, Header: http.Header{}}},
		{name: "no response", resp: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := codeRedirect(tc.resp); got != tc.want {
				t.Errorf("codeRedirect = %v, want %v", got, tc.want)
			}
		})
	}
}
