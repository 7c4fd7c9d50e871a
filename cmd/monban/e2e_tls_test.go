package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and
// localhost and its key as PEM files, and returns their paths and a pool
// that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "monban test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// TestServeTLS is issue #13 item 16: with tls_cert_file and tls_key_file
// `monban serve` answers https itself, HTTP/2 included: a relying party
// fetches discovery over HTTP/2 and a person signs in over https, while
// the management listener stays plain HTTP.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, roots := selfSigned(t)
	addr, mgmt := freeAddr(t), freeAddr(t)
	issuer := "https://" + addr
	cmd := exec.Command(monbanBinary(t), "serve", "--dev", "--listen", addr, "--issuer", issuer, "--management-listen", mgmt)
	cmd.Env = append(os.Environ(), "MONBAN_TLS_CERT_FILE="+certFile, "MONBAN_TLS_KEY_FILE="+keyFile, "MONBAN_LOG_LEVEL=warn")
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("monban serve exited with %v\nstderr: %s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("monban serve did not stop on SIGTERM")
		}
	})
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	var discovery *http.Response
	for range 300 { // bounded wait for start-up, not a timing assertion
		select {
		case err := <-exited:
			t.Fatalf("monban serve exited early: %v\nstderr: %s", err, stderr.String())
		default:
		}
		resp, err := client.Get(issuer + "/.well-known/openid-configuration")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				discovery = resp
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if discovery == nil {
		t.Fatalf("no discovery over https\nstderr: %s", stderr.String())
	}
	t.Run("discovery-over-HTTP/2", func(t *testing.T) {
		if discovery.ProtoMajor != 2 || discovery.TLS == nil {
			t.Fatalf("discovery over %s (TLS %v), want HTTP/2 over TLS", discovery.Proto, discovery.TLS != nil)
		}
		if discovery.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS header on an https issuer")
		}
	})
	t.Run("plain-http-refused-on-the-tls-port", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("the TLS port served discovery over plain http")
			}
		}
	})
	t.Run("management-listener-stays-plain-http", func(t *testing.T) {
		resp, err := http.Get("http://" + mgmt + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/readyz over http = %d, want 200", resp.StatusCode)
		}
	})
	t.Run("sign-in-over-https", func(t *testing.T) {
		pw := regexp.MustCompile(`password "([^"]+)"`).FindStringSubmatch(stdout.String())
		secret := regexp.MustCompile(`client demo-app-1\s+secret (\S+)`).FindStringSubmatch(stdout.String())
		if pw == nil || secret == nil {
			t.Fatalf("no demo credentials printed:\n%s", stdout.String())
		}
		r := newRPWithClient(t, client, issuer, "demo-app-1", secret[1], "http://app1.localhost:9001/callback")
		br := newBrowser(t, issuer)
		br.client.Transport = transport
		f := r.start()
		page, body := br.visit(f.URL)
		if page.StatusCode != http.StatusOK || page.Request.URL.Scheme != "https" || !strings.Contains(body, `name="password"`) {
			t.Fatalf("sign-in page: %d at %s", page.StatusCode, page.Request.URL)
		}
		resp, _ := br.submit(page, body, map[string]string{"username": "demo", "password": pw[1]})
		q := r.callbackParams(resp, f, issuer)
		if _, err := r.exchange(q.Get("code"), f); err != nil {
			t.Fatalf("code exchange over https: %v", err)
		}
	})
}

// newRPWithClient is newRP with the HTTP client the relying party uses
// (here one that trusts the test certificate).
func newRPWithClient(t *testing.T, client *http.Client, issuer, clientID, secret, redirectURI string) *rp {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), client)
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return &rp{t: t, ctx: ctx, provider: provider,
		oauth: oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirectURI,
			Endpoint: endpoint, Scopes: []string{oidc.ScopeOpenID}},
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
	}
}
