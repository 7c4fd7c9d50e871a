package postgres_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// ssoPeople is how many people (each with a live session) the SSO
// statements' benchmark signs in; goroutine n uses person n mod ssoPeople.
const ssoPeople = 16

// BenchmarkSSOStatements measures the two statements of an SSO flow
// answered from a live session (issue #21): the session read at
// /authorize (GetSessionWithUserActive) and the exchange of a sealed code
// (RedeemSealedCode: tombstone, checks, the session's client and the
// first refresh token, one synchronous commit). Each runs from one
// goroutine ("serial": the statement's own cost) and from ~16 ("parallel":
// as under load), and reports the CPU of this process (cpu-ns/op) and of
// the PostgreSQL server's processes (pg-cpu-ns/op) per statement.
func BenchmarkSSOStatements(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	s, err := postgres.Open(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	people := seedSSO(b, s)
	pg := postmasterPID(b, dsn)
	for _, st := range []struct {
		name string
		call func(ctx context.Context, n int) error
	}{
		{"session-read", func(ctx context.Context, n int) error {
			_, active, err := s.GetSessionWithUserActive(ctx, people[n%ssoPeople].cookieHash)
			if err == nil && !active {
				b.Error("the session's user is not active")
			}
			return err
		}},
		{"redeem-sealed-code", func(ctx context.Context, n int) error {
			red, req := sealedRedemption(people[n%ssoPeople], n)
			got, err := s.RedeemSealedCode(ctx, red, req)
			if err == nil && (!got.Granted || !got.Stored) {
				b.Errorf("redemption granted %v, stored %v", got.Granted, got.Stored)
			}
			return err
		}},
	} {
		b.Run(st.name+"/serial", func(b *testing.B) { benchSerial(b, pg, st.call) })
		b.Run(st.name+"/parallel", func(b *testing.B) { benchParallel(b, pg, st.call) })
	}
}

// ssoPerson is a user with a live session.
type ssoPerson struct {
	userID, sessionID, cookieHash string
}

// seedSSO creates the client "app" and ssoPeople people signed in to
// live sessions.
func seedSSO(tb testing.TB, s storage.Store) []ssoPerson {
	tb.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	if err := s.CreateClient(ctx, &storage.Client{ID: "app", Name: "App", SecretHash: storage.HashToken("secret"),
		AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		Scopes: []string{"openid", "profile", "offline_access"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		tb.Fatal(err)
	}
	people := make([]ssoPerson, ssoPeople)
	for i := range people {
		p := ssoPerson{userID: storage.NewID(), sessionID: storage.NewOrderedID(), cookieHash: storage.HashToken(storage.NewToken())}
		u := &storage.User{ID: p.userID, Username: "person-" + strconv.Itoa(i), Email: "person-" + strconv.Itoa(i) + "@example.com",
			EmailVerified: true, Name: "Person " + strconv.Itoa(i), CreatedAt: now, UpdatedAt: now}
		ss := &storage.Session{ID: p.sessionID, TokenHash: p.cookieHash, UserID: p.userID, AuthTime: now, AMR: []string{"pwd"},
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour)}
		if err := s.CreateUser(ctx, u); err != nil {
			tb.Fatal(err)
		}
		if err := s.CreateSession(ctx, ss); err != nil {
			tb.Fatal(err)
		}
		people[i] = p
	}
	return people
}

// sealedRedemption is the n-th exchange of a sealed code for p, as the
// token endpoint makes it: a new code, family and first refresh token.
func sealedRedemption(p ssoPerson, n int) (*storage.CodeRedemption, *storage.AuthRequest) {
	now := time.Now().UTC()
	req := &storage.AuthRequest{ID: storage.NewID(), ClientID: "app", RedirectURI: "https://app.example/cb",
		Scopes: []string{"openid", "profile", "offline_access"}, UserID: p.userID, SessionID: p.sessionID,
		AuthTime: now.Add(-time.Minute), AMR: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
		CodeExpiresAt: now.Add(time.Minute)}
	token := storage.NewOrderedToken()
	red := &storage.CodeRedemption{CodeHash: storage.HashToken("code-" + strconv.Itoa(n) + storage.NewToken()), Now: now,
		FamilyID: storage.NewOrderedID(), ClientID: "app", RedirectURI: req.RedirectURI, SessionIdle: time.Hour,
		RefreshToken: &storage.RefreshToken{ID: storage.NewOrderedID(), TokenHash: storage.TokenKey(token), ClientID: "app",
			CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour), FamilyExpiresAt: now.Add(90 * 24 * time.Hour)}}
	return red, req
}

// benchSerial runs call from one goroutine and reports the CPU of this
// process and of pg's process tree per call, as benchParallel does.
func benchSerial(b *testing.B, pg int, call func(ctx context.Context, n int) error) {
	ctx := context.Background()
	b.ResetTimer()
	defer meterCPU(b, pg)()
	for n := 0; b.Loop(); n++ {
		if err := call(ctx, n); err != nil {
			b.Fatal(err)
		}
	}
}
