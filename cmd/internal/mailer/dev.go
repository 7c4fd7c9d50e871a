package mailer

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/monban-idp/monban/storage"
)

// devKeep is how many messages Dev keeps.
const devKeep = 50

// Dev is the Sender of `monban serve --dev`: it sends nothing, prints each
// message to the log and keeps the last few for the page /dev/mail, so a
// newcomer can follow a verification or reset link.
type Dev struct {
	log  *slog.Logger
	mu   sync.Mutex
	kept []storage.Mail // newest last
}

// NewDev returns a Dev sender that logs to log (nil: slog.Default()).
func NewDev(log *slog.Logger) *Dev {
	if log == nil {
		log = slog.Default()
	}
	return &Dev{log: log}
}

// Send implements Sender.
func (d *Dev) Send(ctx context.Context, m *storage.Mail) error {
	d.log.InfoContext(ctx, "mail (dev: not sent, see /dev/mail)", "event", "mail", "mail_id", m.ID,
		"kind", m.Kind, "to", m.To, "subject", m.Subject, "text", m.Text)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.kept = append(d.kept, *m)
	if len(d.kept) > devKeep {
		d.kept = slices.Delete(d.kept, 0, len(d.kept)-devKeep)
	}
	return nil
}

// Messages returns the kept messages, newest first.
func (d *Dev) Messages() []storage.Mail {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.kept)
	slices.Reverse(out)
	return out
}
