package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func testClientCRUD(t *testing.T, s storage.Store) {
	ctx := t.Context()

	clients, err := s.ListClients(ctx)
	mustOK(t, err, "ListClients on an empty store")
	if len(clients) != 0 {
		t.Fatalf("ListClients on an empty store returned %d clients", len(clients))
	}

	t.Run("RoundTrip", func(t *testing.T) {
		public := newClient("public-spa")
		public.SecretHash = ""
		public.AuthMethod = storage.AuthMethodNone
		public.ApplicationType = storage.ApplicationNative
		public.RedirectURIs = []string{"http://127.0.0.1/cb"}
		public.PostLogoutRedirectURIs = nil
		public.GrantTypes = []string{"authorization_code"}
		public.RequireConsent = false
		public.IDTokenSigningAlg = ""
		public.AccessTokenTTL, public.IDTokenTTL, public.RefreshTokenTTL = 0, 0, 0
		public.BackchannelLogoutURI = ""
		public.BackchannelLogoutSessionRequired = false
		public.Disabled = true

		tests := []struct {
			name   string
			client *storage.Client
		}{
			{"confidential with every field set", newClient("web-app")},
			{"public with empty fields", public},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				in := tc.client
				mustOK(t, s.CreateClient(ctx, in), "CreateClient")
				want := deepCopy(in)
				scribble(in) // the store must not keep the caller's value

				got, err := s.GetClient(ctx, want.ID)
				mustOK(t, err, "GetClient")
				assertEqual(t, "GetClient", want, got)

				scribble(got)
				got.Scopes = append(got.Scopes[:0], "admin")
				got, err = s.GetClient(ctx, want.ID)
				mustOK(t, err, "GetClient")
				assertEqual(t, "GetClient after mutating an earlier result", want, got)

				wantErr(t, s.CreateClient(ctx, newClient(want.ID)), storage.ErrAlreadyExists, "CreateClient with a duplicate ID")
				got, err = s.GetClient(ctx, want.ID)
				mustOK(t, err, "GetClient")
				assertEqual(t, "client after a failed duplicate insert", want, got)
			})
		}
	})

	t.Run("ListOrderedByID", func(t *testing.T) {
		for _, id := range []string{"list-c", "list-a", "list-b"} {
			mustOK(t, s.CreateClient(ctx, newClient(id)), "CreateClient(%s)", id)
		}
		clients, err := s.ListClients(ctx)
		mustOK(t, err, "ListClients")
		var ids []string
		for _, c := range clients {
			ids = append(ids, c.ID)
		}
		for i := 1; i < len(ids); i++ {
			if ids[i-1] >= ids[i] {
				t.Fatalf("ListClients IDs %q are not in ascending order", ids)
			}
		}
		want := newClient("list-a")
		for _, c := range clients {
			if c.ID == "list-a" {
				assertEqual(t, "list-a in ListClients", want, c)
			}
		}
		scribble(clients)
		got, err := s.GetClient(ctx, "list-a")
		mustOK(t, err, "GetClient(list-a)")
		assertEqual(t, "list-a after mutating a ListClients result", want, got)
	})

	t.Run("Update", func(t *testing.T) {
		mustOK(t, s.CreateClient(ctx, newClient("upd")), "CreateClient")
		updated := &storage.Client{
			ID:                     "upd",
			Name:                   "Renamed",
			SecretHash:             storage.HashToken("rotated secret"),
			AuthMethod:             storage.AuthMethodPost,
			ApplicationType:        storage.ApplicationNative,
			RedirectURIs:           []string{"http://localhost/cb"},
			PostLogoutRedirectURIs: nil,
			GrantTypes:             []string{"authorization_code"},
			Scopes:                 []string{"openid"},
			IDTokenSigningAlg:      "RS256",
			AccessTokenTTL:         time.Minute,
			Disabled:               true,
			CreatedAt:              newClient("upd").CreatedAt,
			UpdatedAt:              at(time.Hour),
		}
		stored, err := s.UpdateClient(ctx, "upd", func(c *storage.Client) error {
			assertEqual(t, "client given to the updater", newClient("upd"), c)
			*c = *deepCopy(updated)
			c.ID, c.CreatedAt = "upd-other", at(time.Minute)
			return nil
		})
		mustOK(t, err, "UpdateClient")
		want := deepCopy(updated)
		scribble(updated)
		assertEqual(t, "UpdateClient result", want, stored)
		scribble(stored)

		got, err := s.GetClient(ctx, "upd")
		mustOK(t, err, "GetClient after update")
		assertEqual(t, "updated client", want, got)

		_, err = s.UpdateClient(ctx, "no-such-client", func(*storage.Client) error { return nil })
		wantErr(t, err, storage.ErrNotFound, "UpdateClient(no-such-client)")
		_, err = s.GetClient(ctx, "no-such-client")
		wantErr(t, err, storage.ErrNotFound, "GetClient after a failed update")
		_, err = s.GetClient(ctx, "upd-other")
		wantErr(t, err, storage.ErrNotFound, "GetClient of the ID the updater tried to set")
		errNo := errors.New("updater says no")
		_, err = s.UpdateClient(ctx, "upd", func(c *storage.Client) error { c.Name = "not stored"; return errNo })
		if err != errNo {
			t.Errorf("UpdateClient with a failing updater = %v, want its error unchanged", err)
		}
		got, err = s.GetClient(ctx, "upd")
		mustOK(t, err, "GetClient after a failed updater")
		assertEqual(t, "client after a failed updater", want, got)
	})

	t.Run("Delete", func(t *testing.T) {
		mustOK(t, s.CreateClient(ctx, newClient("del")), "CreateClient")
		mustOK(t, s.DeleteClient(ctx, "del"), "DeleteClient")
		_, err := s.GetClient(ctx, "del")
		wantErr(t, err, storage.ErrNotFound, "GetClient after delete")
		wantErr(t, s.DeleteClient(ctx, "del"), storage.ErrNotFound, "DeleteClient twice")
		wantErr(t, s.DeleteClient(ctx, "no-such-client"), storage.ErrNotFound, "DeleteClient(no-such-client)")
		clients, err := s.ListClients(ctx)
		mustOK(t, err, "ListClients")
		for _, c := range clients {
			if c.ID == "del" {
				t.Errorf("ListClients still returns the deleted client")
			}
		}
		// The ID may be reused after deletion.
		mustOK(t, s.CreateClient(ctx, newClient("del")), "CreateClient after delete")
	})
}
