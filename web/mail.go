package web

import (
	"context"
	"fmt"
	"html"
	"strings"

	"github.com/a-h/templ"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// MailConfig turns on the pages that send mail (issue 16).
type MailConfig struct {
	// Enabled turns on the forgotten-password pages; without a way to
	// send mail (smtp_url, or --dev) they answer 404.
	Enabled bool
	// Notify wakes the outbox's sender after a message was queued; nil:
	// it finds the message on its next round.
	Notify func()
}

// mailFor renders a message to u in u's language (their locale claim
// when the pages speak it, else the page's), with the brand.
func (h *Handler) mailFor(ctx context.Context, u *storage.User, kind, subjectKey string, c view.MailContent) (*storage.Mail, error) {
	if strings.ContainsAny(u.Email+u.Name, "\r\n") {
		return nil, fmt.Errorf("web: mail to user %s: a line break in the address or name", u.ID)
	}
	ctx = h.mailContext(ctx, u)
	c = localizeMail(ctx, c)
	htmlBody, err := renderString(ctx, view.MailHTML(c))
	if err != nil {
		return nil, err
	}
	text, err := renderString(ctx, view.MailText(c))
	if err != nil {
		return nil, err
	}
	now := h.now().UTC()
	return &storage.Mail{Queued: storage.Queued{ID: storage.NewID(), CreatedAt: now, NextAttemptAt: now},
		Kind: kind, To: u.Email, ToName: u.Name,
		Subject: i18n.T(ctx, subjectKey, "Brand", h.brand.Name), Text: html.UnescapeString(text), HTML: htmlBody}, nil
}

// localizeMail translates the catalog keys of c.
func localizeMail(ctx context.Context, c view.MailContent) view.MailContent {
	c.Heading = i18n.T(ctx, c.Heading)
	ps := make([]string, len(c.Paragraphs))
	for i, p := range c.Paragraphs {
		ps[i] = i18n.T(ctx, p)
	}
	c.Paragraphs = ps
	if c.LinkLabel != "" {
		c.LinkLabel = i18n.T(ctx, c.LinkLabel)
	}
	if c.Footer != "" {
		c.Footer = i18n.T(ctx, c.Footer)
	}
	return c
}

// mailContext is ctx speaking u's language, with the brand.
func (h *Handler) mailContext(ctx context.Context, u *storage.User) context.Context {
	lang := i18n.For(ctx).Lang()
	if l := u.Locale; l != "" {
		if base, _, _ := strings.Cut(l, "-"); i18n.Catalogs().Supports(base) {
			lang = base
		}
	}
	ctx = i18n.WithLocalizer(ctx, i18n.Catalogs().Localizer(lang, h.zone))
	return view.WithPage(ctx, &view.Page{Brand: h.brand})
}

func renderString(ctx context.Context, c templ.Component) (string, error) {
	var b strings.Builder
	if err := c.Render(ctx, &b); err != nil {
		return "", fmt.Errorf("web: render mail: %w", err)
	}
	return b.String(), nil
}

// notifyMail wakes the sender, if any.
func (h *Handler) notifyMail() {
	if h.mail.Notify != nil {
		h.mail.Notify()
	}
}

// link returns the absolute URL of path on the issuer.
func (h *Handler) link(path string) string {
	return strings.TrimSuffix(h.issuer, "/") + path
}
