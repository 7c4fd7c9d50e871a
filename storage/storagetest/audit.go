package storagetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testAuditLog pins the audit trail: entries come back exactly as written
// (times in UTC at microsecond precision), newest first with ties broken by
// ID descending, paged by offset and limit; IDs are unique; every
// AuditFilter field selects as AuditFilter.Match says.
func testAuditLog(t *testing.T, s storage.Store) {
	ctx := t.Context()
	if got, err := s.ListAudit(ctx, storage.AuditFilter{}, 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("ListAudit(empty) = %v, %v; want none", got, err)
	}
	entries := []*storage.AuditEntry{
		{ID: "a1", Time: at(0), ActorID: "u1", Actor: "root", Action: "client.create", Target: "client:shop", After: `{"id":"shop"}`},
		{ID: "a2", Time: at(time.Second), ActorID: "u1", Actor: "root", Action: "client.update", Target: "client:shop",
			Before: `{"id":"shop"}`, After: `{"id":"shop","name":"Shop"}`},
		{ID: "a3", Time: at(time.Second), ActorID: "u1", Actor: "root", Action: "client.delete", Target: "client:shop", Before: `{"id":"shop"}`},
		{ID: "a0", Time: at(2*time.Second + 1500*time.Nanosecond), ActorID: "u2", Actor: "ops", Action: "user.disable", Target: "user:u3"},
		{ID: "s1", Time: at(3 * time.Second), ActorID: "u3", Actor: "alice", Action: storage.ActionSignIn,
			Target: "session:x1", Address: "192.0.2.1", Detail: "client shop"},
		{ID: "s2", Time: at(4 * time.Second), Actor: "mallory", Action: storage.ActionSignInFailed,
			Address: "2001:db8::/64", Detail: "unknown user"},
		{ID: "s3", Time: at(5 * time.Second), ActorID: "u3", Actor: "alice", Action: storage.ActionLockout,
			Address: "192.0.2.1", Detail: "wrong password; locked"},
		{ID: "c1", Time: at(6 * time.Second), ActorID: "u3", Actor: "alice", Action: storage.ActionConsentGrant,
			Target: "client:shopping", Detail: "scopes: openid"},
		{ID: "t1", Time: at(7 * time.Second), ActorID: "u3", Actor: "alice", Action: storage.ActionRefreshReuse, Target: "client:shop"},
		{ID: "l1", Time: at(8 * time.Second), ActorID: "u3", Actor: "alice", Action: storage.ActionLogout, Target: "session:x1"},
		{ID: "x1", Time: at(9 * time.Second), ActorID: "u1", Actor: "root", Action: "signin", Target: "client:%_"},
	}
	for _, e := range entries {
		mustOK(t, s.AppendAudit(ctx, e), "AppendAudit(%s)", e.ID)
	}
	wantErr(t, s.AppendAudit(ctx, &storage.AuditEntry{ID: "a1", Time: at(0)}), storage.ErrAlreadyExists, "AppendAudit(duplicate ID)")

	ids := func(got []*storage.AuditEntry) []string {
		var out []string
		for _, e := range got {
			out = append(out, e.ID)
		}
		return out
	}
	all, err := s.ListAudit(ctx, storage.AuditFilter{}, 0, 20)
	mustOK(t, err, "ListAudit")
	if want := []string{"x1", "l1", "t1", "c1", "s3", "s2", "s1", "a0", "a3", "a2", "a1"}; !reflect.DeepEqual(ids(all), want) {
		t.Fatalf("ListAudit order = %v, want %v", ids(all), want)
	}
	for _, i := range []int{9, 5} { // a2 (before and after), s2 (address and detail)
		want := *all[i]
		for _, e := range entries {
			if e.ID == want.ID {
				want = *e
			}
		}
		want.Time = want.Time.UTC()
		if !reflect.DeepEqual(all[i], &want) {
			t.Errorf("ListAudit()[%d] = %+v, want %+v", i, all[i], &want)
		}
	}
	if g := all[7].Time; g.Location() != time.UTC || !g.Equal(at(2*time.Second+time.Microsecond)) {
		t.Errorf("time = %v, want %v in UTC (microseconds)", g, at(2*time.Second+time.Microsecond))
	}

	for _, tc := range []struct {
		name          string
		filter        storage.AuditFilter
		offset, limit int
		want          []string
	}{
		{"page", storage.AuditFilter{}, 8, 2, []string{"a3", "a2"}},
		{"past the end", storage.AuditFilter{}, 11, 10, nil},
		{"zero limit", storage.AuditFilter{}, 0, 0, nil},
		{"negative offset", storage.AuditFilter{}, -3, 2, []string{"x1", "l1"}},
		{"exact action", storage.AuditFilter{Actions: []string{storage.ActionSignInFailed}}, 0, 10, []string{"s2"}},
		{"category", storage.AuditFilter{Actions: []string{storage.CategorySignIn}}, 0, 10, []string{"x1", "s3", "s2", "s1"}},
		{"admin categories", storage.AuditFilter{Actions: storage.AdminCategories()}, 0, 10, []string{"a0", "a3", "a2", "a1"}},
		{"category and exact action", storage.AuditFilter{Actions: []string{"logout", "client.update"}}, 0, 10, []string{"l1", "a2"}},
		{"action prefix is not a category", storage.AuditFilter{Actions: []string{"sign"}}, 0, 10, nil},
		{"category paged", storage.AuditFilter{Actions: []string{"client"}}, 1, 1, []string{"a2"}},
		{"actor by username", storage.AuditFilter{Actor: "alice"}, 0, 10, []string{"l1", "t1", "c1", "s3", "s1"}},
		{"actor by user ID", storage.AuditFilter{Actor: "u1"}, 0, 10, []string{"x1", "a3", "a2", "a1"}},
		{"unknown user's attempt", storage.AuditFilter{Actor: "mallory"}, 0, 10, []string{"s2"}},
		{"actor is exact", storage.AuditFilter{Actor: "ali"}, 0, 10, nil},
		{"target exact", storage.AuditFilter{Target: "client:shop"}, 0, 10, []string{"t1", "a3", "a2", "a1"}},
		{"target prefix", storage.AuditFilter{Target: "client:shop*"}, 0, 10, []string{"t1", "c1", "a3", "a2", "a1"}},
		{"target prefix of a kind", storage.AuditFilter{Target: "session:*"}, 0, 10, []string{"l1", "s1"}},
		{"target LIKE characters are literal", storage.AuditFilter{Target: "client:%*"}, 0, 10, []string{"x1"}},
		{"target without star is exact", storage.AuditFilter{Target: "client:"}, 0, 10, nil},
		{"since is inclusive", storage.AuditFilter{Since: at(7 * time.Second)}, 0, 10, []string{"x1", "l1", "t1"}},
		{"until is exclusive", storage.AuditFilter{Until: at(time.Second)}, 0, 10, []string{"a1"}},
		{"since at microseconds", storage.AuditFilter{Since: at(2*time.Second + time.Microsecond)}, 7, 10, []string{"a0"}},
		{"window", storage.AuditFilter{Since: at(time.Second), Until: at(3 * time.Second)}, 0, 10, []string{"a0", "a3", "a2"}},
		{"actor and category", storage.AuditFilter{Actor: "alice", Actions: []string{"signin"}}, 0, 10, []string{"s3", "s1"}},
		{"target and action", storage.AuditFilter{Target: "client:shop", Actions: []string{"token"}}, 0, 10, []string{"t1"}},
		{"everything", storage.AuditFilter{Actions: []string{"signin", "logout"}, Actor: "u3", Target: "session:*",
			Since: at(3 * time.Second), Until: at(9 * time.Second)}, 0, 10, []string{"l1", "s1"}},
		{"older than a cursor, ties by ID", storage.AuditFilter{Older: storage.AuditCursor{Time: at(time.Second), ID: "a3"}}, 0, 10, []string{"a2", "a1"}},
		{"older than a cursor at microseconds", storage.AuditFilter{Older: storage.AuditCursor{Time: at(2*time.Second + time.Microsecond), ID: "a0"}}, 0, 10, []string{"a3", "a2", "a1"}},
		{"cursor and category", storage.AuditFilter{Actions: []string{"signin"}, Older: storage.AuditCursor{Time: at(5 * time.Second), ID: "s3"}}, 0, 10, []string{"s2", "s1"}},
		{"nothing matches", storage.AuditFilter{Actor: "root", Actions: []string{"consent"}}, 0, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx, tc.filter, tc.offset, tc.limit)
			mustOK(t, err, "ListAudit(%+v, %d, %d)", tc.filter, tc.offset, tc.limit)
			if !reflect.DeepEqual(ids(got), tc.want) {
				t.Errorf("ListAudit(%+v, %d, %d) = %v, want %v", tc.filter, tc.offset, tc.limit, ids(got), tc.want)
			}
			if tc.offset != 0 || len(tc.want) >= tc.limit {
				return
			}
			var match []string // AuditFilter.Match is the definition
			for _, e := range all {
				if tc.filter.Match(e) {
					match = append(match, e.ID)
				}
			}
			if !reflect.DeepEqual(match, tc.want) {
				t.Errorf("AuditFilter.Match keeps %v, want %v", match, tc.want)
			}
		})
	}
}
