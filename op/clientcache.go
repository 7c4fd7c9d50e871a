package op

import (
	"context"
	"sync"
	"time"

	"github.com/monban-idp/monban/storage"
)

// DefaultClientCacheTTL is how long the provider keeps a client it read
// from the store. Every token, authorize, callback and introspection
// request reads its client; the cache saves that round trip. It is also
// how long a change made elsewhere (the CLI, the admin console of another
// replica, another replica's store writes) can take to be seen here:
// disabling or deleting a client takes effect within this time on every
// replica (SECURITY.md, checklist A4/D9). Changes through this Provider's
// store, and InvalidateClient, take effect at once on this replica. A
// client authentication that fails against a cached client is retried
// against the store, so a rotated secret or a re-enabled client works at
// once; only restrictions wait for the TTL.
const DefaultClientCacheTTL = 5 * time.Second

// maxCachedClients bounds the cache. Only registered clients are cached,
// so only an operator can grow it; when full it is emptied.
const maxCachedClients = 10000

// clientCache is a storage.Store whose GetClient answers from memory for
// ttl. Unknown clients are never cached, so a client registered a moment
// ago is found at once and unknown client_ids cannot fill the memory.
type clientCache struct {
	storage.Store
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	clients map[string]cachedClient
}

type cachedClient struct {
	c       *storage.Client
	expires time.Time
}

// newClientCache wraps st; ttl ≤ 0 turns the cache off and returns st.
func newClientCache(st storage.Store, ttl time.Duration, now func() time.Time) storage.Store {
	if ttl <= 0 {
		return st
	}
	return &clientCache{Store: st, ttl: ttl, now: now, clients: make(map[string]cachedClient)}
}

// GetClient implements storage.Store from the cache when it can. Callers
// get their own copy of the struct (its slices are shared and read-only).
func (cc *clientCache) GetClient(ctx context.Context, id string) (*storage.Client, error) {
	now := cc.now()
	cc.mu.Lock()
	e, ok := cc.clients[id]
	cc.mu.Unlock()
	if ok && now.Before(e.expires) {
		c := *e.c
		return &c, nil
	}
	c, err := cc.Store.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	cp := *c
	cc.mu.Lock()
	if len(cc.clients) >= maxCachedClients {
		clear(cc.clients)
	}
	cc.clients[id] = cachedClient{c: &cp, expires: now.Add(cc.ttl)}
	cc.mu.Unlock()
	return c, nil
}

// UpdateClient implements storage.Store and forgets the cached client.
func (cc *clientCache) UpdateClient(ctx context.Context, id string, fn func(*storage.Client) error) (*storage.Client, error) {
	c, err := cc.Store.UpdateClient(ctx, id, fn)
	cc.invalidate(id)
	return c, err
}

// DeleteClient implements storage.Store and forgets the cached client.
func (cc *clientCache) DeleteClient(ctx context.Context, id string) error {
	err := cc.Store.DeleteClient(ctx, id)
	cc.invalidate(id)
	return err
}

func (cc *clientCache) invalidate(id string) {
	cc.mu.Lock()
	delete(cc.clients, id)
	cc.mu.Unlock()
}

// clientCached reports whether the client is in the cache, fresh or not.
func (p *Provider) clientCached(id string) bool {
	cc, ok := p.store.(*clientCache)
	if !ok {
		return false
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	_, ok = cc.clients[id]
	return ok
}

// InvalidateClient makes this Provider read the client from the store on
// its next request, for callers that change clients through another
// handle on the store (the admin console). Other replicas see the change
// within DefaultClientCacheTTL (or Config.ClientCacheTTL).
func (p *Provider) InvalidateClient(id string) {
	if cc, ok := p.store.(*clientCache); ok {
		cc.invalidate(id)
	}
}
