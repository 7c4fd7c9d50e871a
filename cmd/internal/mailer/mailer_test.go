package mailer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/cmd/internal/mailer"
	"github.com/monban-idp/monban/cmd/internal/mailer/mailpit"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/outbox"
	"github.com/monban-idp/monban/storage/storagetest"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		want      mailer.Settings
		wantErr   string
	}{
		{name: "smtp requires STARTTLS on 587", url: "smtp://mx.example.com",
			want: mailer.Settings{Host: "mx.example.com", Port: 587, StartTLS: true}},
		{name: "smtps is implicit TLS on 465", url: "smtps://u:p%40ss@mx.example.com",
			want: mailer.Settings{Host: "mx.example.com", Port: 465, Implicit: true, Username: "u", Password: "p@ss"}},
		{name: "starttls off for a local relay", url: "smtp://127.0.0.1:1025?starttls=off",
			want: mailer.Settings{Host: "127.0.0.1", Port: 1025}},
		{name: "other scheme", url: "http://mx.example.com", wantErr: "must be smtp or smtps"},
		{name: "no host", url: "smtp://", wantErr: "no host"},
		{name: "bad port", url: "smtp://mx:99999", wantErr: "not a port"},
		{name: "starttls off on smtps", url: "smtps://mx?starttls=off", wantErr: "only starttls=off on smtp://"},
		{name: "unknown parameter", url: "smtp://mx?tls=no", wantErr: "unknown parameter"},
		{name: "password never in the error", url: "ftp://u:secretpw@mx", wantErr: "must be smtp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mailer.ParseURL(tc.url)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "secretpw") {
					t.Fatalf("ParseURL(%q) = %v, want an error containing %q without the password", tc.url, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseURL(%q) = %+v, %v; want %+v", tc.url, got, err, tc.want)
			}
		})
	}
}

func TestParseFrom(t *testing.T) {
	for _, tc := range []struct {
		name, from string
		ok         bool
	}{
		{"address", "id@example.com", true},
		{"with name", "Example ID <id@example.com>", true},
		{"CR LF", "id@example.com\r\nBcc: x@example.com", false},
		{"not an address", "nobody", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := mailer.ParseFrom(tc.from); (err == nil) != tc.ok {
				t.Fatalf("ParseFrom(%q) = %v, want ok=%v", tc.from, err, tc.ok)
			}
		})
	}
}

func enqueue(t *testing.T, s storage.Outbox, id, to, subject string, now time.Time) {
	t.Helper()
	err := s.MailOutbox().Enqueue(t.Context(), &storage.Mail{Queued: storage.Queued{ID: id, CreatedAt: now, NextAttemptAt: now},
		Kind: "test", To: to, ToName: "Ålice Example", Subject: subject, Text: "plain " + id, HTML: "<p>html " + id + "</p>"})
	if err != nil {
		t.Fatal(err)
	}
}

func newWorker(t *testing.T, s storage.Outbox, smtpURL string, clock *storagetest.Clock) *mailer.Worker {
	t.Helper()
	settings, err := mailer.ParseURL(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mailer.ParseFrom("monban <id@example.com>")
	w, err := mailer.New(mailer.Config{Store: s, Sender: mailer.NewSMTP(settings, from), Now: clock.Now, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// A queued message reaches a real SMTP server with both bodies, an encoded
// non-ASCII name and its outbox Message-ID; while the server is down the
// message waits (retried with backoff) and arrives once it is back; after
// MaxAttempts it is given up with the reason kept.
func TestDeliverRetryGiveUp(t *testing.T) {
	srv := mailpit.Start(t)
	store := memory.New()
	clock := storagetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	w := newWorker(t, store, srv.SMTPURL(), clock)
	ctx := t.Context()

	enqueue(t, store, "m1", "alice@example.com", "Hello 日本語", clock.Now())
	res, err := w.Step(ctx)
	if err != nil || res.Delivered != 1 {
		t.Fatalf("Step = %+v, %v; want 1 delivered", res, err)
	}
	got := srv.To("alice@example.com")
	if len(got) != 1 || got[0].Subject != "Hello 日本語" || !strings.Contains(got[0].Text, "plain m1") ||
		!strings.Contains(got[0].HTML, "html m1") || got[0].MessageID != "m1@example.com" {
		t.Fatalf("received %+v", got)
	}

	srv.Stop()
	enqueue(t, store, "m2", "bob@example.com", "Down", clock.Now())
	res, err = w.Step(ctx)
	if err != nil || res.Retrying != 1 {
		t.Fatalf("Step with the server down = %+v, %v; want 1 retrying", res, err)
	}
	if res, _ := w.Step(ctx); res != (outbox.Result{}) {
		t.Fatalf("Step before the retry is due = %+v, want nothing", res)
	}
	srv.Start()
	clock.Advance(30 * time.Second)
	if res, err := w.Step(ctx); err != nil || res.Delivered != 1 {
		t.Fatalf("Step after restart = %+v, %v; want 1 delivered", res, err)
	}
	if n := len(srv.To("bob@example.com")); n != 1 {
		t.Fatalf("bob got %d messages, want 1", n)
	}

	srv.Stop()
	enqueue(t, store, "m3", "carol@example.com", "Never", clock.Now())
	for range 3 {
		if _, err := w.Step(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
	}
	failed, err := store.MailOutbox().ListFailed(ctx)
	if err != nil || len(failed) != 1 || failed[0].ID != "m3" || failed[0].LastError == "" || failed[0].Text != "" {
		t.Fatalf("failed = %+v, %v; want m3 with a reason and no body", failed, err)
	}
}

// A header with a line break is never sent: it is given up at once.
func TestHeaderInjectionRefused(t *testing.T) {
	srv := mailpit.Start(t)
	store := memory.New()
	clock := storagetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	w := newWorker(t, store, srv.SMTPURL(), clock)
	enqueue(t, store, "evil", "alice@example.com", "Hi\r\nBcc: mallory@example.com", clock.Now())
	res, err := w.Step(t.Context())
	if err != nil || res.Failed != 1 {
		t.Fatalf("Step = %+v, %v; want 1 failed", res, err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages arrived, want none", n)
	}
}

func TestNewNeedsStoreAndSender(t *testing.T) {
	if _, err := mailer.New(mailer.Config{}); err == nil {
		t.Fatal("New without store and sender succeeded")
	}
}
