package memory

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// oauthData is what the device flow, private_key_jwt and PAR keep (issue
// 19). Its maps are created on first use.
type oauthData struct {
	devices    map[string]*storage.DeviceAuthorization // by ID
	assertions map[assertionKey]time.Time              // client and jti → expiry
	pushed     map[string]*storage.PushedRequest       // by ID
}

type assertionKey struct{ clientID, jti string }

func (o oauthData) clone() oauthData {
	return oauthData{
		devices:    cloneMap(o.devices, cloneDevice),
		assertions: maps.Clone(o.assertions),
		pushed:     cloneMap(o.pushed, clonePushed),
	}
}

// deleteClient removes the client's rows, as ON DELETE CASCADE does.
func (o *oauthData) deleteClient(id string) {
	maps.DeleteFunc(o.devices, func(_ string, d *storage.DeviceAuthorization) bool { return d.ClientID == id })
	maps.DeleteFunc(o.assertions, func(k assertionKey, _ time.Time) bool { return k.clientID == id })
	maps.DeleteFunc(o.pushed, func(_ string, r *storage.PushedRequest) bool { return r.ClientID == id })
}

func cloneDevice(d *storage.DeviceAuthorization) *storage.DeviceAuthorization {
	o := *d
	o.CreatedAt, o.ExpiresAt, o.LastPolledAt, o.AuthTime = ts(d.CreatedAt), ts(d.ExpiresAt), ts(d.LastPolledAt), ts(d.AuthTime)
	o.Scopes, o.AMR = slices.Clone(d.Scopes), slices.Clone(d.AMR)
	return &o
}

func clonePushed(r *storage.PushedRequest) *storage.PushedRequest {
	o := *r
	o.CreatedAt, o.ExpiresAt = ts(r.CreatedAt), ts(r.ExpiresAt)
	o.Params = url.Values{}
	for k, v := range r.Params {
		o.Params[k] = slices.Clone(v)
	}
	return &o
}

// CreateDeviceAuthorization implements storage.DeviceAuthorizations.
func (s *Store) CreateDeviceAuthorization(_ context.Context, d *storage.DeviceAuthorization, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now = ts(now)
	if _, ok := s.clients[d.ClientID]; !ok {
		return notFound("client", d.ClientID)
	}
	for id, o := range s.oauth.devices {
		if o.UserCode == d.UserCode && o.ExpiresAt.Before(now) && o.ID != d.ID {
			delete(s.oauth.devices, id) // an expired code's user code may be handed out again
			continue
		}
		if o.ID == d.ID || o.DeviceCodeHash == d.DeviceCodeHash || o.UserCode == d.UserCode {
			return exists("device authorization", d.ID)
		}
	}
	if s.oauth.devices == nil {
		s.oauth.devices = make(map[string]*storage.DeviceAuthorization)
	}
	s.oauth.devices[d.ID] = cloneDevice(d)
	return nil
}

// GetDeviceAuthorizationByUserCode implements storage.DeviceAuthorizations.
func (s *Store) GetDeviceAuthorizationByUserCode(_ context.Context, userCode string, now time.Time) (*storage.DeviceAuthorization, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now = ts(now)
	for _, d := range s.oauth.devices {
		if d.UserCode == userCode && d.Status == storage.DevicePending && now.Before(d.ExpiresAt) {
			return cloneDevice(d), nil
		}
	}
	return nil, notFound("device authorization", "user code")
}

// DecideDeviceAuthorization implements storage.DeviceAuthorizations.
func (s *Store) DecideDeviceAuthorization(_ context.Context, id string, dec storage.DeviceDecision, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.oauth.devices[id]
	if !ok || !ts(now).Before(d.ExpiresAt) {
		return notFound("device authorization", id)
	}
	if d.Status != storage.DevicePending {
		return fmt.Errorf("memory: device authorization %q is %s: %w", id, d.Status, storage.ErrConflict)
	}
	d.Status = storage.DeviceDenied
	if dec.Approved {
		d.Status = storage.DeviceApproved
		d.UserID, d.SessionID, d.AuthTime, d.AMR = dec.UserID, dec.SessionID, ts(dec.AuthTime), slices.Clone(dec.AMR)
	}
	return nil
}

// PollDeviceAuthorization implements storage.DeviceAuthorizations.
func (s *Store) PollDeviceAuthorization(_ context.Context, clientID, deviceCodeHash string, now time.Time) (*storage.DeviceAuthorization, storage.DevicePoll, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if deviceCodeHash != "" {
		for _, d := range s.oauth.devices {
			if d.DeviceCodeHash == deviceCodeHash && d.ClientID == clientID {
				res := d.Poll(ts(now))
				return cloneDevice(d), res, nil
			}
		}
	}
	return nil, 0, notFound("device authorization", "device code")
}

// UseClientAssertion implements storage.ClientAssertions.
func (s *Store) UseClientAssertion(_ context.Context, clientID, jti string, expiresAt, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now = ts(now)
	if _, ok := s.clients[clientID]; !ok {
		return notFound("client", clientID)
	}
	k := assertionKey{clientID, jti}
	if exp, ok := s.oauth.assertions[k]; ok && now.Before(exp) {
		return exists("client assertion", jti)
	}
	if s.oauth.assertions == nil {
		s.oauth.assertions = make(map[assertionKey]time.Time)
	}
	s.oauth.assertions[k] = ts(expiresAt)
	return nil
}

// CreatePushedRequest implements storage.PushedRequests.
func (s *Store) CreatePushedRequest(_ context.Context, r *storage.PushedRequest, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now = ts(now)
	if _, ok := s.clients[r.ClientID]; !ok {
		return notFound("client", r.ClientID)
	}
	if _, ok := s.oauth.pushed[r.ID]; ok {
		return exists("pushed request", r.ID)
	}
	if s.oauth.pushed == nil {
		s.oauth.pushed = make(map[string]*storage.PushedRequest)
	}
	s.oauth.pushed[r.ID] = clonePushed(r)
	return nil
}

// ConsumePushedRequest implements storage.PushedRequests.
func (s *Store) ConsumePushedRequest(_ context.Context, id, clientID string, now time.Time) (*storage.PushedRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.oauth.pushed[id]
	if !ok || r.ClientID != clientID {
		return nil, notFound("pushed request", id)
	}
	delete(s.oauth.pushed, id)
	if !ts(now).Before(r.ExpiresAt) {
		return nil, notFound("pushed request", id)
	}
	return clonePushed(r), nil
}
