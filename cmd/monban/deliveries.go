package main

import (
	"context"
	"time"

	"github.com/monban-idp/monban/storage"
)

// logoutDeliveries runs "monban logout-deliveries failed": the back-channel
// logout tokens (Back-Channel Logout 1.0 §2.5) the provider gave up
// delivering after its bounded retries, so an operator can see which apps
// did not learn that a session ended.
func (c *cli) logoutDeliveries(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "logout-deliveries", args, subcmd{"failed", failedItems[*storage.LogoutDelivery, deliveryJSON]{
		name: "logout-deliveries failed", queue: storage.Store.LogoutOutbox,
		none: "No failed back-channel logout deliveries.", toJSON: toDeliveryJSON,
		header: []string{"CLIENT", "SUBJECT", "SESSION"},
		cells:  func(d *storage.LogoutDelivery) []string { return []string{d.ClientID, d.Subject, d.SessionID} },
	}.run(c)})
}

// deliveryJSON is a failed delivery as "--output json" prints it.
type deliveryJSON struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"client_id"`
	Subject   string    `json:"sub"`
	SessionID string    `json:"sid"`
	CreatedAt time.Time `json:"created_at"`
	Attempts  int       `json:"attempts"`
	FailedAt  time.Time `json:"failed_at"`
	LastError string    `json:"last_error"`
}

func toDeliveryJSON(d *storage.LogoutDelivery) deliveryJSON {
	return deliveryJSON{ID: d.ID, ClientID: d.ClientID, Subject: d.Subject, SessionID: d.SessionID,
		CreatedAt: d.CreatedAt.UTC(), Attempts: d.Attempts, FailedAt: d.FailedAt.UTC(), LastError: d.LastError}
}
