package certs

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CheckInterval is how often, at most, a handshake looks at the files.
const CheckInterval = 10 * time.Second

// Reloader holds the current certificate; use GetCertificate or TLSConfig.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string    // modification times and sizes of the loaded files
	checked time.Time // when the files were last looked at
}

// New loads the pair from certFile and keyFile (PEM). now may be nil
// (time.Now); log may be nil (slog.Default).
func New(certFile, keyFile string, log *slog.Logger, now func() time.Time) (*Reloader, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log, now: now}
	stamp, err := r.fileStamp()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls_cert_file and tls_key_file: %w", err)
	}
	r.cert, r.stamp, r.checked = &cert, stamp, now()
	return r, nil
}

// fileStamp describes both files' modification times and sizes.
func (r *Reloader) fileStamp() (string, error) {
	var stamp string
	for _, name := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", fmt.Errorf("tls: %w", err)
		}
		stamp += fmt.Sprintf("%s %d %d;", name, fi.ModTime().UnixNano(), fi.Size())
	}
	return stamp, nil
}

// GetCertificate returns the current certificate, reloading the files
// first when they changed (for tls.Config.GetCertificate).
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.checked) < CheckInterval {
		return r.cert, nil
	}
	r.checked = now
	stamp, err := r.fileStamp()
	if err != nil || stamp == r.stamp {
		if err != nil {
			r.log.Warn("TLS certificate files unreadable; serving the loaded certificate", "err", err)
		}
		return r.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		// Probably half-way through a renewal: try again next interval.
		r.log.Warn("TLS certificate files changed but do not load; serving the previous certificate", "err", err)
		return r.cert, nil
	}
	r.cert, r.stamp = &cert, stamp
	r.log.Info("TLS certificate reloaded", "cert_file", r.certFile)
	return r.cert, nil
}

// TLSConfig is the server configuration: TLS 1.2 or newer (RFC 9325 §3.1.1),
// with TLS 1.2 limited to ECDHE and AEAD cipher suites (RFC 9325 §4.2;
// Go's defaults also allow CBC suites; TLS 1.3 suites are all AEAD),
// HTTP/2 offered first (RFC 9113 §3.2), certificates from the Reloader.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   tls12Suites,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.GetCertificate,
	}
}

// tls12Suites are the TLS 1.2 cipher suites offered: forward secret and
// AEAD only (RFC 9325 §4.2's recommended suites, plus ChaCha20-Poly1305).
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}
