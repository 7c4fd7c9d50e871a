package storagetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testAuditLog pins the audit trail: entries come back exactly as written
// (times in UTC at microsecond precision), newest first with ties broken by
// ID descending, paged by offset and limit; IDs are unique.
func testAuditLog(t *testing.T, s storage.Store) {
	ctx := t.Context()
	if got, err := s.ListAudit(ctx, 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("ListAudit(empty) = %v, %v; want none", got, err)
	}
	entries := []*storage.AuditEntry{
		{ID: "a1", Time: at(0), ActorID: "u1", Actor: "root", Action: "client.create", Target: "client:shop", After: `{"id":"shop"}`},
		{ID: "a2", Time: at(time.Second), ActorID: "u1", Actor: "root", Action: "client.update", Target: "client:shop",
			Before: `{"id":"shop"}`, After: `{"id":"shop","name":"Shop"}`},
		{ID: "a3", Time: at(time.Second), ActorID: "u1", Actor: "root", Action: "client.delete", Target: "client:shop", Before: `{"id":"shop"}`},
		{ID: "a0", Time: at(2*time.Second + 1500*time.Nanosecond), ActorID: "u2", Actor: "ops", Action: "user.disable", Target: "user:u3"},
	}
	for _, e := range entries {
		mustOK(t, s.AppendAudit(ctx, e), "AppendAudit(%s)", e.ID)
	}
	wantErr(t, s.AppendAudit(ctx, &storage.AuditEntry{ID: "a1", Time: at(0)}), storage.ErrAlreadyExists, "AppendAudit(duplicate ID)")

	got, err := s.ListAudit(ctx, 0, 10)
	mustOK(t, err, "ListAudit")
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if want := []string{"a0", "a3", "a2", "a1"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("ListAudit order = %v, want %v", ids, want)
	}
	want := *entries[1]
	want.Time = want.Time.UTC()
	if !reflect.DeepEqual(got[2], &want) {
		t.Errorf("ListAudit()[2] = %+v, want %+v", got[2], &want)
	}
	if g := got[0].Time; g.Location() != time.UTC || !g.Equal(at(2*time.Second+time.Microsecond)) {
		t.Errorf("time = %v, want %v in UTC (microseconds)", g, at(2*time.Second+time.Microsecond))
	}

	page, err := s.ListAudit(ctx, 1, 2)
	mustOK(t, err, "ListAudit(offset 1, limit 2)")
	if len(page) != 2 || page[0].ID != "a3" || page[1].ID != "a2" {
		t.Errorf("ListAudit(1, 2) = %v, want a3, a2", page)
	}
	if rest, err := s.ListAudit(ctx, 4, 10); err != nil || len(rest) != 0 {
		t.Errorf("ListAudit past the end = %v, %v; want none", rest, err)
	}
}
