package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// groupUpdateTests pin the group columns of configuration as code (issue
// 20, migration 00027): description and the managed mark.
var groupUpdateTests = []struct {
	name string
	fn   func(*testing.T, storage.Store)
}{
	{"GroupDescriptionManaged", testGroupDescriptionManaged},
	{"UpdateGroup", testUpdateGroup},
}

// testGroupDescriptionManaged: a group's description and managed mark
// round-trip through create, get, get by name and the listing.
func testGroupDescriptionManaged(t *testing.T, s storage.Store) {
	ctx := t.Context()
	g := newGroup("group-m", "managed-staff")
	g.Description, g.Managed = "people who run the shop — 店舗", true
	mustOK(t, s.CreateGroup(ctx, g), "CreateGroup")
	got, err := s.GetGroup(ctx, "group-m")
	mustOK(t, err, "GetGroup")
	assertEqual(t, "GetGroup", g, got)
	got, err = s.GetGroupByName(ctx, "managed-staff")
	mustOK(t, err, "GetGroupByName")
	assertEqual(t, "GetGroupByName", g, got)
	plain := newGroup("group-p", "plain")
	mustOK(t, s.CreateGroup(ctx, plain), "CreateGroup(plain)")
	list, err := s.ListGroups(ctx, "", 10)
	mustOK(t, err, "ListGroups")
	if len(list) != 2 {
		t.Fatalf("ListGroups: %d groups, want 2", len(list))
	}
	assertEqual(t, "listed managed group", g, &list[0].Group)
	assertEqual(t, "listed plain group", plain, &list[1].Group)
}

// testUpdateGroup: UpdateGroup writes description, managed and
// UpdatedAt, keeps ID, name and CreatedAt, writes nothing when fn fails,
// and is ErrNotFound for a missing group.
func testUpdateGroup(t *testing.T, s storage.Store) {
	ctx := t.Context()
	g := newGroup("group-u", "ops")
	mustOK(t, s.CreateGroup(ctx, g), "CreateGroup")
	got, err := s.UpdateGroup(ctx, "group-u", func(g *storage.Group) error {
		g.ID, g.Name, g.CreatedAt = "forged", "forged", at(time.Hour)
		g.Description, g.Managed, g.UpdatedAt = "on call", true, at(0)
		return nil
	})
	mustOK(t, err, "UpdateGroup")
	want := newGroup("group-u", "ops")
	want.Description, want.Managed, want.UpdatedAt = "on call", true, at(0)
	assertEqual(t, "UpdateGroup result", want, got)
	stored, err := s.GetGroup(ctx, "group-u")
	mustOK(t, err, "GetGroup")
	assertEqual(t, "stored after UpdateGroup", want, stored)
	if _, err := s.GetGroupByName(ctx, "forged"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UpdateGroup renamed the group: GetGroupByName(forged) = %v", err)
	}

	refuse := errors.New("refused")
	_, err = s.UpdateGroup(ctx, "group-u", func(g *storage.Group) error {
		g.Description = "changed"
		return refuse
	})
	if !errors.Is(err, refuse) {
		t.Errorf("UpdateGroup with a failing fn: got %v, want the fn's error", err)
	}
	stored, _ = s.GetGroup(ctx, "group-u")
	assertEqual(t, "stored after a refused UpdateGroup", want, stored)

	_, err = s.UpdateGroup(ctx, "no-such-group", func(*storage.Group) error { return nil })
	wantErr(t, err, storage.ErrNotFound, "UpdateGroup(missing)")
}
