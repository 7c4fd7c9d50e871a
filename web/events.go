package web

// Events receives what the browser pages do, for metrics. The binary
// implements it (cmd/monban: Prometheus counters); nil in Config records
// nothing. Implementations must be safe for concurrent use and must not
// block.
type Events interface {
	// SignIn is called for every password check: ok when it passed,
	// otherwise false (wrong password, unknown or locked account, throttled).
	SignIn(ok bool)
}

// noEvents is the Events that records nothing.
type noEvents struct{}

func (noEvents) SignIn(bool) {}
