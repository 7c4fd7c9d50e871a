package adminapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestIfMatch: a stale If-Match is 412 and changes nothing; a current
// one (or "*", or none) applies; every change gives a new ETag.
func TestIfMatch(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/clients", tokWrite, webClient("app")).want(t, 201)
	var u User
	e.call("POST", "/users", tokWrite, map[string]any{"username": "dave"}).want(t, 201).json(t, &u)
	for _, tc := range []struct {
		name, get, method, path string
		body                    any
	}{
		{"client update", "/clients/app", "PATCH", "/clients/app", map[string]any{"client_name": "Changed"}},
		{"client secret", "/clients/app", "POST", "/clients/app/secret", nil},
		{"user update", "/users/" + u.ID, "PATCH", "/users/" + u.ID, map[string]any{"name": "Dave"}},
		{"user disable", "/users/" + u.ID, "POST", "/users/" + u.ID + "/disable", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := e.call("GET", tc.get, tokRead, nil).want(t, 200)
			tag := old.Header.Get("ETag")
			if !strings.HasPrefix(tag, `"`) || strings.HasPrefix(tag, `W/`) {
				t.Fatalf("ETag %q is not a strong tag", tag)
			}
			if again := e.call("GET", tc.get, tokRead, nil).Header.Get("ETag"); again != tag {
				t.Fatalf("ETag changed without a change: %q, %q", tag, again)
			}
			e.call(tc.method, tc.path, tokWrite, tc.body, "If-Match", `"stale"`).want(t, http.StatusPreconditionFailed).problem(t)
			e.call(tc.method, tc.path, tokWrite, tc.body, "If-Match", "W/"+tag).want(t, http.StatusPreconditionFailed)
			if now := e.call("GET", tc.get, tokRead, nil).Header.Get("ETag"); now != tag {
				t.Fatal("a refused If-Match changed the object")
			}
			e.call(tc.method, tc.path, tokWrite, tc.body, "If-Match", `"other", `+tag).want(t, 200)
			newTag := e.call("GET", tc.get, tokRead, nil).Header.Get("ETag")
			if newTag == tag {
				t.Fatal("the change kept the ETag")
			}
			// The old version is stale now, also for a delete.
			e.call("DELETE", tc.get, tokWrite, nil, "If-Match", tag).want(t, http.StatusPreconditionFailed)
			e.call(tc.method, tc.path, tokWrite, tc.body, "If-Match", "*").want(t, 200)
		})
	}
	tag := e.call("GET", "/clients/app", tokRead, nil).Header.Get("ETag")
	e.call("DELETE", "/clients/app", tokWrite, nil, "If-Match", tag).want(t, 204)
	// Groups.
	var g Group
	e.call("POST", "/groups", tokWrite, map[string]any{"name": "ops"}).want(t, 201).json(t, &g)
	gt := e.call("GET", "/groups/"+g.ID, tokRead, nil).Header.Get("ETag")
	e.call("PATCH", "/groups/"+g.ID, tokWrite, map[string]any{"name": "sre"}, "If-Match", gt).want(t, 200)
	e.call("DELETE", "/groups/"+g.ID, tokWrite, nil, "If-Match", gt).want(t, http.StatusPreconditionFailed)
}

// TestPaging: every list pages by an opaque cursor, and a cursor that is
// not one is refused.
func TestPaging(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.call("POST", "/clients", tokWrite, webClient(fmt.Sprintf("app%d", i))).want(t, 201)
		e.call("POST", "/users", tokWrite, map[string]any{"username": fmt.Sprintf("user%d", i)}).want(t, 201)
		e.call("POST", "/groups", tokWrite, map[string]any{"name": fmt.Sprintf("group%d", i)}).want(t, 201)
	}
	for _, tc := range []struct {
		path string
		want int
	}{{"/clients", 5}, {"/users", 5}, {"/groups", 5}, {"/audit", 15}} {
		t.Run(tc.path, func(t *testing.T) {
			var ids []string
			next, pages := "", 0
			for {
				var l List[map[string]any]
				q := tc.path + "?limit=2"
				if next != "" {
					q += "&cursor=" + next
				}
				e.call("GET", q, tokRead, nil).want(t, 200).json(t, &l)
				pages++
				for _, it := range l.Items {
					ids = append(ids, fmt.Sprint(it["id"], it["client_id"]))
				}
				if l.Next == "" {
					break
				}
				next = l.Next
				if pages > 20 {
					t.Fatal("paging does not end")
				}
			}
			if len(ids) != tc.want || pages != (tc.want+1)/2 {
				t.Errorf("%d items in %d pages, want %d", len(ids), pages, tc.want)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Errorf("%s listed twice", id)
				}
				seen[id] = true
			}
		})
	}
	for _, q := range []string{"/clients?limit=0", "/clients?limit=201", "/clients?limit=x", "/clients?cursor=***", "/audit?cursor=bm9wZQ", "/keys?cursor=bm9wZQ"} {
		e.call("GET", q, tokRead, nil).want(t, 400).problem(t)
	}
}
