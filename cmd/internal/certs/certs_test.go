package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// writePair writes a self-signed certificate for 127.0.0.1 with serial
// number serial, and its key, and returns the certificate.
func writePair(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "monban test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestReloaderServesRenewedCertificate runs an HTTPS server from a
// Reloader: HTTP/2 is negotiated, a renewed pair is served after the check
// interval, and a broken pair leaves the previous one in use.
func TestReloaderServesRenewedCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := writePair(t, certFile, keyFile, 1)
	clk := &clock{t: time.Unix(1_000_000, 0)}
	r, err := New(certFile, keyFile, slog.New(slog.NewTextHandler(io.Discard, nil)), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: r.TLSConfig(), Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })

	// served returns the serial of the certificate a new connection gets
	// and the HTTP protocol version spoken.
	served := func(t *testing.T) (int64, int) {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), resp.ProtoMajor
	}

	cases := []struct {
		name       string
		change     func(t *testing.T)
		advance    time.Duration
		wantSerial int64
	}{
		{"initial pair over HTTP/2", func(*testing.T) {}, 0, first.SerialNumber.Int64()},
		{"renewed pair not looked at before the interval", func(t *testing.T) { writePair(t, certFile, keyFile, 2) }, CheckInterval / 2, 1},
		{"renewed pair served after the interval", func(*testing.T) {}, CheckInterval, 2},
		{"broken pair keeps the previous one", func(t *testing.T) {
			if err := os.WriteFile(keyFile, []byte("not a key, a renewal half-way"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, CheckInterval, 2},
		{"repaired pair served", func(t *testing.T) { writePair(t, certFile, keyFile, 3) }, CheckInterval, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.change(t)
			clk.add(tc.advance)
			serial, proto := served(t)
			if serial != tc.wantSerial || proto != 2 {
				t.Fatalf("served serial %d over HTTP/%d, want serial %d over HTTP/2", serial, proto, tc.wantSerial)
			}
		})
	}
}

// TestNewRefusesBadFiles: a missing or mismatched pair is an error at start.
func TestNewRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key")
	writePair(t, certFile, keyFile, 1)
	otherCert, otherKey := filepath.Join(dir, "b.crt"), filepath.Join(dir, "b.key")
	writePair(t, otherCert, otherKey, 2)
	cases := []struct{ name, cert, key string }{
		{"missing certificate", filepath.Join(dir, "none.crt"), keyFile},
		{"missing key", certFile, filepath.Join(dir, "none.key")},
		{"key of another certificate", certFile, otherKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cert, tc.key, nil, nil); err == nil {
				t.Fatal("New accepted a bad pair")
			}
		})
	}
}

// TestChecklistB12Handshakes: TLS 1.0 and 1.1 are refused, and TLS 1.2
// only with an AEAD suite (checklist B12; CVE-2024-23656 was a provider
// that ignored its TLS settings).
func TestChecklistB12Handshakes(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writePair(t, certFile, keyFile, 1)
	r, err := New(certFile, keyFile, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", r.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	for _, tc := range []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{"B12/tls1.0-refused", &tls.Config{MaxVersion: tls.VersionTLS10}, false},
		{"B12/tls1.1-refused", &tls.Config{MaxVersion: tls.VersionTLS11}, false},
		{"B12/tls1.2-cbc-refused", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}, false},
		{"B12/tls1.2-gcm-accepted", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"B12/tls1.3-accepted", &tls.Config{MinVersion: tls.VersionTLS13}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.client.InsecureSkipVerify = true // the test pair is self-signed; only the handshake matters
			if tc.client.MinVersion == 0 {      // offer the old versions too
				tc.client.MinVersion = tls.VersionTLS10
			}
			conn, err := tls.Dial("tcp", ln.Addr().String(), tc.client)
			if err == nil {
				conn.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("handshake error %v, want success %v", err, tc.ok)
			}
		})
	}
}
