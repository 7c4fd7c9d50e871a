package app

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/monban-idp/monban/web"

	"github.com/monban-idp/monban/cmd/internal/mailer"
)

// MailConfig is how monban sends mail (issue 16).
type MailConfig struct {
	// SMTPURL is smtp_url: smtp://user:password@host:587 (STARTTLS
	// required unless ?starttls=off) or smtps://…:465. "" sends no mail,
	// and the pages that need it are off (unless Dev).
	SMTPURL string
	// From is mail_from, the sender: "monban <id@example.com>".
	From string
	// Dev sends nothing: messages are printed to the log and shown on
	// /dev/mail (serve --dev).
	Dev bool
}

// validate reports the problems of the mail settings.
func (c MailConfig) validate() []error {
	if c.SMTPURL == "" {
		return nil
	}
	var errs []error
	if _, err := mailer.ParseURL(c.SMTPURL); err != nil {
		errs = append(errs, err)
	}
	if c.From == "" {
		errs = append(errs, errors.New("mail_from is required with smtp_url (for example \"monban <id@example.com>\")"))
	} else if _, err := mailer.ParseFrom(c.From); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// newMailer returns the outbox worker for cfg, the dev sender when Dev
// (for /dev/mail), or nil, nil when mail is off.
func (a *App) newMailer() (*mailer.Worker, *mailer.Dev, error) {
	cfg := a.cfg
	var sender mailer.Sender
	var dev *mailer.Dev
	switch {
	case cfg.Mail.Dev:
		dev = mailer.NewDev(cfg.Logger)
		sender = dev
	case cfg.Mail.SMTPURL != "":
		s, err := mailer.ParseURL(cfg.Mail.SMTPURL)
		if err != nil {
			return nil, nil, err
		}
		from, err := mailer.ParseFrom(cfg.Mail.From)
		if err != nil {
			return nil, nil, err
		}
		sender = mailer.NewSMTP(s, from)
	default:
		return nil, nil, nil
	}
	w, err := mailer.New(mailer.Config{Store: a.store, Sender: sender, Now: cfg.Now, Logger: cfg.Logger})
	if err != nil {
		return nil, nil, fmt.Errorf("mail: %w", err)
	}
	return w, dev, nil
}

// Mailer returns the mail outbox worker (nil when mail is off), whose
// Step tests call instead of running it.
func (a *App) Mailer() *mailer.Worker { return a.mailer }

// devMailPage serves /dev/mail: the messages the dev sender kept, as plain
// text (only registered with --dev).
func devMailPage(dev *mailer.Dev) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		msgs := dev.Messages()
		if len(msgs) == 0 {
			fmt.Fprintln(w, "No mail yet. (monban --dev shows the mail it would have sent here.)")
			return
		}
		for _, m := range msgs {
			fmt.Fprintf(w, "To: %s <%s>\nSubject: %s\nDate: %s\n\n%s\n%s\n", m.ToName, m.To, m.Subject,
				m.CreatedAt.Format("2006-01-02 15:04:05 MST"), m.Text, "----------------------------------------")
		}
	}
}

// webMail is the pages' mail settings for the worker w (nil: off).
func webMail(w *mailer.Worker) web.MailConfig {
	if w == nil {
		return web.MailConfig{}
	}
	return web.MailConfig{Enabled: true, Notify: w.Notify}
}
