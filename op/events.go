package op

// Events receives what the provider does, for metrics. The binary
// implements it (cmd/monban: Prometheus counters); a nil Events in Config
// or WorkerConfig records nothing. Implementations must be safe for
// concurrent use and must not block.
type Events interface {
	// TokenIssued is called once per successful token response, with the
	// grant type ("authorization_code", "refresh_token", …).
	TokenIssued(grantType string)
	// RefreshReuse is called when a rotated refresh token is presented
	// again and its family is revoked.
	RefreshReuse()
	// LogoutDelivery is called after each back-channel logout attempt
	// with its outcome: "delivered", "retry" or "failed" (given up).
	LogoutDelivery(outcome string)
}

// noEvents is the Events that records nothing.
type noEvents struct{}

func (noEvents) TokenIssued(string)    {}
func (noEvents) RefreshReuse()         {}
func (noEvents) LogoutDelivery(string) {}

// eventsOr returns e, or an Events that records nothing when e is nil.
func eventsOr(e Events) Events {
	if e == nil {
		return noEvents{}
	}
	return e
}
