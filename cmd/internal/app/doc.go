// Package app assembles monban: New builds the provider (op), the sign-in
// pages (web), the admin console (web/admin), the metrics and the
// management handler from one Config; Run runs the background jobs; Close
// stops them and releases the store. cmd/monban only turns flags,
// environment variables and the YAML file into a Config (starting from
// Defaults, the one place defaults are set), listens and serves.
//
// Handlers:
//
//	Handler()            public port: op routes (/authorize, /token, /jwks, …), web pages
//	                     (/login, /consent, /logout, …), /admin, "/" — with request ids,
//	                     base security headers, HSTS for https issuers, metrics
//	ManagementHandler()  management port: /healthz, /readyz (database, signing keys,
//	                     migrations; 503 after Drain), /metrics, /debug/pprof/ when Pprof
//	StartingHandler(f)   management port before New returns: /healthz 200, /readyz and
//	                     /metrics 503 with what start-up waits for
//
// Start-up: WaitForDatabase waits, with capped exponential backoff, until
// PostgreSQL answers and no migration is pending, so serve does not exit
// (and crash-loop under an orchestrator) when the database is late.
// Build reports the binary's version, commit and Go release (also the
// monban_build_info metric).
//
// Jobs (cmd/internal/jobs; Run starts them, Close waits until all returned):
//
//	keys     signing-key refresh and rotation (op/keys.Keys.Run, every 30 s)
//	worker   back-channel logout delivery and session sweep (op.Worker.Run)
//	janitor  deletion of expired rows (cmd/internal/janitor, every 5 min)
package app
