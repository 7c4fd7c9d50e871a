package mailer

import (
	"context"
	"errors"
	"fmt"

	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/outbox"
)

// Settings is a parsed smtp_url.
type Settings struct {
	Host     string
	Port     int
	Implicit bool // smtps://: TLS from the first byte (RFC 8314 §3.3)
	StartTLS bool // smtp://: STARTTLS required (RFC 3207) unless ?starttls=off
	Username string
	Password string
}

// ParseURL parses smtp_url: smtp://[user[:password]@]host[:port] (port 587
// by default, STARTTLS required unless ?starttls=off, for a relay on
// localhost or a test server) or smtps://… (port 465, implicit TLS). The
// error never contains the password.
func ParseURL(raw string) (Settings, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Settings{}, errors.New("smtp_url is not a URL (smtp://user:password@host:587 or smtps://…:465)")
	}
	var s Settings
	switch u.Scheme {
	case "smtp":
		s.Port, s.StartTLS = 587, true
	case "smtps":
		s.Port, s.Implicit = 465, true
	default:
		return Settings{}, fmt.Errorf("smtp_url scheme %q must be smtp or smtps", u.Scheme)
	}
	s.Host = u.Hostname()
	if s.Host == "" {
		return Settings{}, errors.New("smtp_url has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Settings{}, fmt.Errorf("smtp_url port %q is not a port number", p)
		}
		s.Port = n
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		if k != "starttls" {
			return Settings{}, fmt.Errorf("smtp_url has an unknown parameter %q (only starttls=off)", k)
		}
	}
	switch v := q.Get("starttls"); {
	case v == "":
	case v == "off" && u.Scheme == "smtp":
		s.StartTLS = false
	default:
		return Settings{}, fmt.Errorf("smtp_url starttls=%q: only starttls=off on smtp:// is allowed", v)
	}
	if u.Path != "" && u.Path != "/" {
		return Settings{}, errors.New("smtp_url must not have a path")
	}
	return s, nil
}

// ParseFrom checks mail_from: one address, optionally with a display name
// ("monban <id@example.com>"), without CR or LF.
func ParseFrom(from string) (*mail.Address, error) {
	if strings.ContainsAny(from, "\r\n") {
		return nil, errors.New("mail_from must not contain line breaks")
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail_from %q is not an e-mail address", from)
	}
	return a, nil
}

// SMTP sends messages to one SMTP server.
type SMTP struct {
	settings Settings
	from     *mail.Address
	domain   string // of Message-IDs
	timeout  time.Duration
}

// NewSMTP returns a Sender for the server s, with from as the sender.
func NewSMTP(s Settings, from *mail.Address) *SMTP {
	domain := "monban.invalid"
	if at := strings.LastIndexByte(from.Address, '@'); at >= 0 {
		domain = from.Address[at+1:]
	}
	return &SMTP{settings: s, from: from, domain: domain, timeout: 30 * time.Second}
}

// Send implements Sender: one connection per batch is the caller's
// choice; this sends m on its own connection.
func (c *SMTP) Send(ctx context.Context, m *storage.Mail) error {
	msg, err := c.message(m)
	if err != nil {
		return outbox.Permanent(err)
	}
	opts := []gomail.Option{gomail.WithPort(c.settings.Port), gomail.WithTimeout(c.timeout)}
	switch {
	case c.settings.Implicit:
		opts = append(opts, gomail.WithSSL())
	case c.settings.StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if c.settings.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.settings.Username), gomail.WithPassword(c.settings.Password))
	}
	client, err := gomail.NewClient(c.settings.Host, opts...)
	if err != nil {
		return outbox.Permanent(err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.Reason == gomail.ErrSMTPRcptTo {
			return outbox.Permanent(err) // the server refused the address for good (5xx)
		}
		return err
	}
	return nil
}

// message builds m as a multipart/alternative message.
func (c *SMTP) message(m *storage.Mail) (*gomail.Msg, error) {
	if strings.ContainsAny(m.To+m.ToName+m.Subject, "\r\n") {
		return nil, errors.New("a header contains a line break")
	}
	msg := gomail.NewMsg()
	if err := msg.FromFormat(c.from.Name, c.from.Address); err != nil {
		return nil, err
	}
	if err := msg.AddToFormat(m.ToName, m.To); err != nil {
		return nil, err
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(MessageID(m.ID, c.domain))
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// MessageID is the Message-ID (without angle brackets) of the outbox
// message id (RFC 5322 §3.6.4): the same for every attempt.
func MessageID(id, domain string) string {
	return id + "@" + domain
}
