package memory

import (
	"context"
	"maps"
	"slices"

	"github.com/monban-idp/monban/storage"
)

// Atomically implements storage.Atomic. It holds the store's mutex for the
// whole of fn, so concurrent Atomically calls, and every other call on the
// store, run before or after it, never in between; fn's Store shares the
// data without taking the mutex again. Before fn runs, the data is copied;
// when fn returns an error (or panics) the copy is put back, so a failed
// fn leaves no change behind. Nested calls work the same way, like a
// savepoint. fn must use only the Store it is given: calling the outer
// Store from fn waits for itself.
func (s *Store) Atomically(_ context.Context, fn func(storage.Store) error) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	saved := s.data.clone()
	done := false
	defer func() {
		if !done || err != nil {
			*s.data = *saved
		}
	}()
	err = fn(&Store{mu: noLock{}, data: s.data})
	done = true
	return err
}

// noLock is the sync.Locker of the Store inside Atomically, whose caller
// already holds the mutex.
type noLock struct{}

func (noLock) Lock()   {}
func (noLock) Unlock() {}

// clone deep-copies d. The caller holds the mutex.
func (d *data) clone() *data {
	o := *d
	o.users = cloneMap(d.users, cloneUser)
	o.userByName = maps.Clone(d.userByName)
	o.groups = cloneMap(d.groups, cloneGroup)
	o.groupByName = maps.Clone(d.groupByName)
	o.members = make(map[string]map[string]struct{}, len(d.members))
	for id, set := range d.members {
		o.members[id] = maps.Clone(set)
	}
	o.clients = cloneMap(d.clients, cloneClient)
	o.authRequests = cloneMap(d.authRequests, cloneAuthRequest)
	o.authByCode = maps.Clone(d.authByCode)
	o.codeTombstones = maps.Clone(d.codeTombstones)
	o.sessions = cloneMap(d.sessions, cloneSession)
	o.sessionByHash = maps.Clone(d.sessionByHash)
	o.sessionClient = make(map[string]map[string]struct{}, len(d.sessionClient))
	for id, set := range d.sessionClient {
		o.sessionClient[id] = maps.Clone(set)
	}
	o.consents = cloneMap(d.consents, cloneConsent)
	o.refresh = cloneMap(d.refresh, cloneRefresh)
	o.refreshIDs = maps.Clone(d.refreshIDs)
	o.deniedJTIs = maps.Clone(d.deniedJTIs)
	o.deliveries = cloneMap(d.deliveries, cloneItem[storage.LogoutDelivery])
	o.mails = cloneMap(d.mails, cloneItem[storage.Mail])
	o.userTokens = cloneMap(d.userTokens, cloneUserToken)
	o.keys = cloneMap(d.keys, cloneKey)
	o.throttles = maps.Clone(d.throttles)
	o.totp = cloneMap(d.totp, cloneTOTP)
	o.recovery = cloneMap(d.recovery, cloneCodes)
	o.webauthn = cloneMap(d.webauthn, storage.CloneWebAuthnCredential)
	o.audit = slices.Clone(d.audit) // entries are never changed once added
	o.oauth = d.oauth.clone()
	o.initial = cloneMap(d.initial, cloneInitial)
	o.federated = cloneMap(d.federated, cloneFederated)
	return &o
}

// cloneMap copies m, each value with clone.
func cloneMap[K comparable, V any](m map[K]V, clone func(V) V) map[K]V {
	if m == nil {
		return nil
	}
	o := make(map[K]V, len(m))
	for k, v := range m {
		o[k] = clone(v)
	}
	return o
}
