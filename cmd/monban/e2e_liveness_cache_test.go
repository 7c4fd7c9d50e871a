package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// statementLog records the SQL of every statement the store sends.
type statementLog struct {
	mu  sync.Mutex
	sql []string
}

func (l *statementLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sql = append(l.sql, d.SQL)
	return ctx
}

func (l *statementLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns the statements logged since the last take.
func (l *statementLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.sql
	l.sql = nil
	return out
}

// fullReads counts the statements that read a token's whole status
// (GetAccessTokenStatus: session, family, user), as opposed to the
// cached path's LivenessVersion.
func fullReads(sql []string) (full, versionOnly int) {
	for _, s := range sql {
		switch {
		case strings.Contains(s, "LEFT JOIN sessions"):
			full++
		case strings.Contains(s, "liveness_versions"):
			versionOnly++
		}
	}
	return full, versionOnly
}

// TestOthersLogoutsKeepTheLivenessCache (issue #21): a token this replica
// has seen live stays on the cached path — one LivenessVersion read, no
// full status read — while other people's sessions are revoked, their
// refresh tokens too; a change to the token's own user leaves the cached
// path at once, and the token's own revocation is seen by the next
// request.
func TestOthersLogoutsKeepTheLivenessCache(t *testing.T) {
	log := &statementLog{}
	st, err := postgres.Open(t.Context(), pgtest.NewDatabase(t), postgres.WithTracer(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	p := newTestServer(t, withStore(st))
	rcv := newReceiver(t)
	registerLogoutClients(t, p, rcv)
	fx := openLogoutFixture(t, p, rcv)
	br := newBrowser(t, p.URL)
	tk := fx.signIn(t, br, fx.a)
	token := tk.token.AccessToken
	fx.assertLive(t, "app-a", token) // read in full, then remembered
	fx.assertLive(t, "app-a", token)
	log.take()

	ctx := t.Context()
	now := time.Now().UTC()
	for i := range 20 { // other people log out
		u := p.addUser(t, "bystander"+strings.Repeat("x", i), "pw-"+storage.NewToken())
		ss := &storage.Session{ID: storage.NewID(), TokenHash: storage.HashToken(storage.NewToken()), UserID: u.ID,
			AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AMR: []string{"pwd"}}
		if err := st.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
		if err := st.Atomically(ctx, func(tx storage.Store) error {
			if err := tx.RevokeSession(ctx, ss.ID, now); err != nil {
				return err
			}
			return tx.RevokeSessionRefreshTokens(ctx, ss.ID, false, now)
		}); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeAccessToken(ctx, "jti-of-someone-else-"+u.ID, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	log.take()
	fx.assertLive(t, "app-a", token) // introspection and userinfo
	if full, version := fullReads(log.take()); full != 0 || version != 2 {
		t.Fatalf("after other people's logouts: %d full status reads and %d version reads, want 0 and 2", full, version)
	}

	// The user's own change (a new group membership) leaves the cache.
	alice, err := st.GetUserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	g := &storage.Group{ID: storage.NewID(), Name: "staff", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := st.AddGroupMember(ctx, g.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	log.take()
	fx.assertLive(t, "app-a", token)
	if full, _ := fullReads(log.take()); full != 1 {
		t.Fatalf("after the user's own change: %d full status reads, want 1 (then cached again)", full)
	}

	fx.logoutA(t, br, tk)
	fx.assertDead(t, "app-a", token)
}
