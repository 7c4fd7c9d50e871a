package main

import (
	"context"
	"time"

	"github.com/monban-idp/monban/storage"
)

// mail runs "monban mail failed": the messages of the mail outbox the
// provider gave up sending after its bounded retries (issue 16), with the
// reason, so an operator can see who did not get a reset link or notice.
func (c *cli) mail(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "mail", args, subcmd{"failed", failedItems[*storage.Mail, mailJSON]{
		name: "mail failed", queue: storage.Store.MailOutbox, none: "No failed mail.", toJSON: toMailJSON,
		header: []string{"KIND", "TO"},
		cells:  func(m *storage.Mail) []string { return []string{m.Kind, m.To} },
	}.run(c)})
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
