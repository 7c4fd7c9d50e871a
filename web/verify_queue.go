package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
)

// QueueVerification stores a verification token for u's address and
// queues its mail in st's outbox, in one transaction with an audit entry,
// as the account page does; a running server delivers it. It is how
// "monban user add --send-verification" sends the link: issuer makes the
// link absolute, a gives the brand and the language when u has no locale
// the pages speak. It returns the queued message's ID.
func QueueVerification(ctx context.Context, st storage.Store, issuer string, a Appearance, u *storage.User, now func() time.Time) (string, error) {
	if u.Email == "" {
		return "", errors.New("web: the user has no e-mail address to verify")
	}
	brand, err := a.Brand.load()
	if err != nil {
		return "", err
	}
	lang := a.DefaultLocale
	if lang == "" {
		lang = i18n.Default
	}
	h := &Handler{store: st, issuer: issuer, brand: brand.view, zone: a.TimeZone, now: now,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx = i18n.WithLocalizer(ctx, i18n.Catalogs().Localizer(lang, a.TimeZone))
	var id string
	if err := h.sendVerificationID(ctx, u, u.Email, "", &id); err != nil {
		return "", fmt.Errorf("web: queue verification: %w", err)
	}
	return id, nil
}
