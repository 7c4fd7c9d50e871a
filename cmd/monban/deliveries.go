package main

import (
	"context"
	"strconv"
	"time"

	"github.com/monban-idp/monban/storage"
)

// logoutDeliveries runs "monban logout-deliveries failed": the back-channel
// logout tokens (Back-Channel Logout 1.0 §2.5) the provider gave up
// delivering after its bounded retries, so an operator can see which apps
// did not learn that a session ended.
func (c *cli) logoutDeliveries(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "logout-deliveries", args, subcmd{"failed", c.logoutDeliveriesFailed})
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

func (c *cli) logoutDeliveriesFailed(ctx context.Context, args []string) error {
	cmd := c.dbCommand("logout-deliveries failed", "[--output json]", true)
	return cmd.run(ctx, args, 0, func(st storage.Store, _ []string, js bool) error {
		failed, err := st.LogoutOutbox().ListFailed(ctx)
		if err != nil {
			return dbError(err)
		}
		if js {
			return writeJSON(c.stdout, jsonList(failed, toDeliveryJSON))
		}
		if len(failed) == 0 {
			c.printf("No failed back-channel logout deliveries.\n")
			return nil
		}
		tw := newTable(c.stdout)
		row(tw, "CLIENT", "SUBJECT", "SESSION", "ATTEMPTS", "FAILED", "LAST ERROR")
		for _, d := range failed {
			row(tw, d.ClientID, d.Subject, d.SessionID, strconv.Itoa(d.Attempts), d.FailedAt.UTC().Format(time.RFC3339), d.LastError)
		}
		return tw.Flush()
	})
}
