// Package netpolicy decides which network addresses the provider may
// connect to on a client's behalf (back-channel logout, checklist L6): only
// public unicast addresses, judged by the IANA special-purpose address
// registries (Registry). It is used where the address is actually dialled
// (op's HTTP client, at connect time, after DNS resolution) and where a
// URI is registered (storage/clientpolicy). Standard library only.
package netpolicy
