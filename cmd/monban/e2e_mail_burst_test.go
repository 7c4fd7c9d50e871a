package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/cmd/internal/mailer"
	"github.com/monban-idp/monban/cmd/internal/mailer/mailpit"
	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
	"github.com/monban-idp/monban/storage/storagetest"
)

// TestMailBurstSurvivesSMTPOutage is issue 16's "must show": two replicas
// (two app.New on one PostgreSQL database) send a burst of 50 messages;
// the SMTP server is stopped in the middle and restarted; every message
// arrives exactly once (by its outbox Message-ID).
func TestMailBurstSurvivesSMTPOutage(t *testing.T) {
	const burst = 50
	smtp := mailpit.Start(t)
	dsn := pgtest.NewDatabase(t)
	clock := storagetest.NewClock(time.Now().UTC().Truncate(time.Second))
	kek := keys.RandomKeyEncryptionKeys()
	var replicas []*testProvider
	for range 2 {
		st, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		replicas = append(replicas, newTestServer(t, withStore(st), withClock(clock), withKEK(kek), withConfig(func(c *app.Config) {
			c.Mail = app.MailConfig{SMTPURL: smtp.SMTPURL(), From: "monban <id@example.com>"}
		})))
	}
	store := replicas[0].Store
	for i := range burst {
		now := clock.Now()
		if err := store.MailOutbox().Enqueue(t.Context(), &storage.Mail{
			Queued: storage.Queued{ID: fmt.Sprintf("burst-%02d", i), CreatedAt: now, NextAttemptAt: now},
			Kind:   "test", To: fmt.Sprintf("p%02d@example.com", i), Subject: "burst", Text: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	// Both replicas step at once, as their jobs would.
	both := func() (sent, retrying int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, p := range replicas {
			wg.Go(func() {
				res, err := p.App.Mailer().Step(t.Context())
				if err != nil {
					t.Errorf("mail step: %v", err)
				}
				mu.Lock()
				sent, retrying = sent+res.Delivered, retrying+res.Retrying
				mu.Unlock()
			})
		}
		wg.Wait()
		return sent, retrying
	}
	total := 0
	s, _ := both() // the first batches go out
	total += s
	smtp.Stop()
	s, r := both()
	total += s
	if r == 0 {
		t.Fatal("nothing failed while the SMTP server was down")
	}
	smtp.Start()
	for i := 0; total < burst && i < 20; i++ {
		clock.Advance(time.Hour)
		s, _ := both()
		total += s
	}
	if total != burst {
		t.Fatalf("%d sent, want %d", total, burst)
	}
	seen := map[string]int{}
	for _, m := range smtp.Messages() {
		seen[m.MessageID]++
	}
	for i := range burst {
		id := mailer.MessageID(fmt.Sprintf("burst-%02d", i), "example.com")
		if seen[id] != 1 {
			t.Errorf("message %s arrived %d times, want exactly once", id, seen[id])
		}
	}
	if len(seen) != burst {
		t.Errorf("%d distinct messages arrived, want %d", len(seen), burst)
	}
	pending, failed, err := store.MailOutbox().Count(t.Context())
	if err != nil || pending != 0 || failed != 0 {
		t.Errorf("outbox after the burst: %d pending, %d failed, %v", pending, failed, err)
	}
}
