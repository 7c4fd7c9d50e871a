// Package certs serves monban's TLS certificate from the files an operator
// (or an ACME client such as certbot) keeps up to date, and picks up a
// renewed certificate without a restart.
//
// A Reloader loads the certificate and key once at start, where a bad pair
// is an error; after that, at most once per CheckInterval, a TLS handshake
// looks at the files' modification times and sizes and reloads the pair
// when either changed. A pair that fails to load (say, the certificate is
// written before its key) is logged and the previous certificate stays in
// use, so a renewal half-done never takes the server down.
package certs
