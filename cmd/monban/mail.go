package main

import (
	"context"
	"strconv"
	"time"

	"github.com/monban-idp/monban/storage"
)

// mail runs "monban mail failed": the messages of the mail outbox the
// provider gave up sending after its bounded retries (issue 16), with the
// reason, so an operator can see who did not get a reset link or notice.
func (c *cli) mail(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "mail", args, subcmd{"failed", c.mailFailed})
}

// mailJSON is a failed message as "--output json" prints it (never its
// bodies, which are cleared when it is given up).
type mailJSON struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
	Attempts  int       `json:"attempts"`
	FailedAt  time.Time `json:"failed_at"`
	LastError string    `json:"last_error"`
}

func toMailJSON(m *storage.Mail) mailJSON {
	return mailJSON{ID: m.ID, Kind: m.Kind, To: m.To, Subject: m.Subject, CreatedAt: m.CreatedAt.UTC(),
		Attempts: m.Attempts, FailedAt: m.FailedAt.UTC(), LastError: m.LastError}
}

func (c *cli) mailFailed(ctx context.Context, args []string) error {
	cmd := c.dbCommand("mail failed", "[--output json]", true)
	return cmd.run(ctx, args, 0, func(st storage.Store, _ []string, js bool) error {
		failed, err := st.MailOutbox().ListFailed(ctx)
		if err != nil {
			return dbError(err)
		}
		if js {
			return writeJSON(c.stdout, jsonList(failed, toMailJSON))
		}
		if len(failed) == 0 {
			c.printf("No failed mail.\n")
			return nil
		}
		tw := newTable(c.stdout)
		row(tw, "KIND", "TO", "ATTEMPTS", "FAILED", "LAST ERROR")
		for _, m := range failed {
			row(tw, m.Kind, m.To, strconv.Itoa(m.Attempts), m.FailedAt.UTC().Format(time.RFC3339), m.LastError)
		}
		return tw.Flush()
	})
}
