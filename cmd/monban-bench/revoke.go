package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
)

// revoker logs other people out while a scenario runs (--revoke-rate):
// each revocation signs a bystander in (a new session) and then logs
// that session out as the server's logout does, revoking the session and
// its refresh tokens in one transaction. It measures what unrelated
// logouts cost the requests of the people being measured.
type revoker struct {
	st    *postgres.Store
	users []string
	rate  int
	done  atomic.Int64
	errs  atomic.Int64
}

// bystanders is how many other people take turns logging out.
const bystanders = 100

// newRevoker provisions the bystanders in the store at dsn.
func newRevoker(ctx context.Context, dsn string, rate int) (*revoker, error) {
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	r := &revoker{st: st, rate: rate}
	now := time.Now().UTC()
	suffix := storage.NewToken()[:8]
	for i := range bystanders {
		u := &storage.User{ID: storage.NewID(), Username: fmt.Sprintf("bystander-%s-%d", suffix, i), CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			st.Close()
			return nil, fmt.Errorf("provision bystander: %w", err)
		}
		r.users = append(r.users, u.ID)
	}
	return r, nil
}

// run revokes at r.rate per second until ctx ends, from up to 16
// goroutines (a logout is three round trips and a commit: one goroutine
// alone falls behind on a loaded machine).
func (r *revoker) run(ctx context.Context) {
	loops := min(16, r.rate)
	var wg sync.WaitGroup
	var n atomic.Int64
	for range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(time.Second * time.Duration(loops) / time.Duration(r.rate))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if err := r.logout(context.WithoutCancel(ctx), r.users[int(n.Add(1))%len(r.users)]); err != nil {
					r.errs.Add(1)
				} else {
					r.done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
}

// logout creates a session of userID and revokes it with its tokens.
func (r *revoker) logout(ctx context.Context, userID string) error {
	now := time.Now().UTC()
	ss := &storage.Session{ID: storage.NewID(), TokenHash: storage.HashToken(storage.NewToken()), UserID: userID,
		AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AMR: []string{"pwd"}}
	if err := r.st.CreateSession(ctx, ss); err != nil {
		return err
	}
	return r.st.Atomically(ctx, func(tx storage.Store) error {
		if err := tx.RevokeSession(ctx, ss.ID, now); err != nil {
			return err
		}
		return tx.RevokeSessionRefreshTokens(ctx, ss.ID, false, now)
	})
}

func (r *revoker) close() { r.st.Close() }
