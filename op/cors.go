package op

import (
	"net/http"
	"net/url"
	"sync"
	"time"
)

// corsRefresh is how long the origin allow-list is reused before it is
// rebuilt from the registered clients.
const corsRefresh = 30 * time.Second

// corsPolicy allows browser apps to call the token and UserInfo endpoints
// from the origins of registered redirect URIs, and from nowhere else. It
// never allows credentials: these endpoints read no cookies. It replaces
// zitadel's default, which reflects any origin with credentials. The
// authorization endpoint gets no CORS at all (RFC 9700 §2.6).
type corsPolicy struct {
	p       *Provider
	mu      sync.Mutex
	origins map[string]bool
	built   time.Time
}

func (c *corsPolicy) allowed(r *http.Request, origin string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.p.now()
	if c.origins == nil || now.Sub(c.built) > corsRefresh {
		clients, err := c.p.store.ListClients(r.Context())
		if err != nil {
			return false // fail closed; the next request tries again
		}
		origins := map[string]bool{}
		for _, cl := range clients {
			if cl.Disabled {
				continue
			}
			for _, uri := range cl.RedirectURIs {
				if u, err := url.Parse(uri); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
					origins[u.Scheme+"://"+u.Host] = true
				}
			}
		}
		c.origins, c.built = origins, now
	}
	return c.origins[origin]
}

// wrap answers preflights and adds CORS headers for allowed origins.
func (c *corsPolicy) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		ok := c.allowed(r, origin)
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			// RFC 9449 §8: browser clients read the server's nonce.
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, DPoP-Nonce")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if ok {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
