package storagetest

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// errRollback is what the functions of these tests return to roll back.
var errRollback = errors.New("roll back")

// testAtomically pins storage.Atomic: a function that returns nil commits
// every change it made; one that returns an error leaves none behind and
// gets its error back unchanged; a nested call that fails undoes only its
// own changes.
func testAtomically(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	audit := func(id string) *storage.AuditEntry {
		return &storage.AuditEntry{ID: id, Time: at(0), Action: "user.update", Target: "user:" + sd.user.ID}
	}
	rename := func(tx storage.Store, name string) error {
		_, err := tx.UpdateUser(ctx, sd.user.ID, func(u *storage.User) error { u.Name = name; return nil })
		return err
	}
	auditIDs := func() []string {
		all, err := s.ListAudit(ctx, storage.AuditFilter{}, 0, 100)
		mustOK(t, err, "ListAudit")
		var ids []string
		for _, e := range all {
			ids = append(ids, e.ID)
		}
		return sorted(ids)
	}
	name := func() string {
		u, err := s.GetUser(ctx, sd.user.ID)
		mustOK(t, err, "GetUser")
		return u.Name
	}

	t.Run("Rollback", func(t *testing.T) {
		err := s.Atomically(ctx, func(tx storage.Store) error {
			mustOK(t, tx.CreateUser(ctx, newUser("user-rb", "rolled-back")), "CreateUser in the transaction")
			mustOK(t, rename(tx, "not kept"), "UpdateUser in the transaction")
			mustOK(t, tx.AppendAudit(ctx, audit("rb")), "AppendAudit in the transaction")
			if u, err := tx.GetUser(ctx, sd.user.ID); err != nil || u.Name != "not kept" {
				t.Errorf("the transaction does not read its own write: %v, %v", u, err)
			}
			return fmt.Errorf("wrapped: %w", errRollback)
		})
		if !errors.Is(err, errRollback) || err.Error() != "wrapped: roll back" {
			t.Fatalf("Atomically = %v, want the function's error unchanged", err)
		}
		_, err = s.GetUser(ctx, "user-rb")
		wantErr(t, err, storage.ErrNotFound, "user created by a rolled-back function")
		if got := name(); got != sd.user.Name {
			t.Errorf("name after a rolled-back update = %q, want %q", got, sd.user.Name)
		}
		assertStrings(t, "audit entries after a rollback", nil, auditIDs())
	})

	t.Run("Commit", func(t *testing.T) {
		mustOK(t, s.Atomically(ctx, func(tx storage.Store) error {
			if err := rename(tx, "kept"); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, audit("ok"))
		}), "Atomically")
		if got := name(); got != "kept" {
			t.Errorf("name after a committed update = %q, want kept", got)
		}
		assertStrings(t, "audit entries after a commit", []string{"ok"}, auditIDs())
	})

	t.Run("NestedFailure", func(t *testing.T) {
		mustOK(t, s.Atomically(ctx, func(tx storage.Store) error {
			mustOK(t, tx.AppendAudit(ctx, audit("outer")), "AppendAudit(outer)")
			err := tx.Atomically(ctx, func(inner storage.Store) error {
				mustOK(t, inner.AppendAudit(ctx, audit("inner")), "AppendAudit(inner)")
				mustOK(t, rename(inner, "inner"), "UpdateUser(inner)")
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Errorf("nested Atomically = %v, want errRollback", err)
			}
			return nil
		}), "Atomically")
		if got := name(); got != "kept" {
			t.Errorf("name after a failed nested update = %q, want kept", got)
		}
		assertStrings(t, "audit entries after a failed nested call", []string{"ok", "outer"}, auditIDs())
	})

	t.Run("FailedWriteInside", func(t *testing.T) {
		// A store error inside fn rolls back what came before it.
		err := s.Atomically(ctx, func(tx storage.Store) error {
			mustOK(t, tx.AppendAudit(ctx, audit("before-dup")), "AppendAudit")
			return tx.CreateUser(ctx, newUser("user-dup", sd.user.Username))
		})
		wantErr(t, err, storage.ErrAlreadyExists, "Atomically with a duplicate username")
		assertStrings(t, "audit entries after a failed write", []string{"ok", "outer"}, auditIDs())
	})
}

// testConcurrentAtomically runs many transactions at once, every other
// one failing: exactly the changes of the successful ones remain, so a
// rollback never undoes a concurrent commit, and each transaction's
// changes are all there or all gone.
func testConcurrentAtomically(t *testing.T, s storage.Store) {
	const n = 20
	ctx := t.Context()
	sd := seedRows(t, s)
	errs := race(n, func(i int) error {
		return s.Atomically(ctx, func(tx storage.Store) error {
			id := fmt.Sprintf("tx-%02d", i)
			if err := tx.CreateUser(ctx, newUser("user-"+id, id)); err != nil {
				return err
			}
			// A counter in the seed user's name, raised under its lock.
			if _, err := tx.UpdateUser(ctx, sd.user.ID, func(u *storage.User) error {
				k, _ := strconv.Atoi(u.Name)
				u.Name = strconv.Itoa(k + 1)
				return nil
			}); err != nil {
				return err
			}
			if err := tx.AppendAudit(ctx, &storage.AuditEntry{ID: id, Time: at(time.Duration(i)), Action: "user.create"}); err != nil {
				return err
			}
			if i%2 == 1 {
				return errRollback
			}
			return nil
		})
	})
	ok, counts := tally(t, "Atomically", errs, errRollback)
	if ok != n/2 || counts[errRollback] != n/2 {
		t.Fatalf("%d concurrent transactions: %d committed, %d rolled back; want %d each", n, ok, counts[errRollback], n/2)
	}
	for i := range n {
		id := fmt.Sprintf("tx-%02d", i)
		_, err := s.GetUser(ctx, "user-"+id)
		if i%2 == 1 {
			wantErr(t, err, storage.ErrNotFound, "user of rolled-back transaction %d", i)
		} else {
			mustOK(t, err, "user of committed transaction %d", i)
		}
	}
	u, err := s.GetUser(ctx, sd.user.ID)
	mustOK(t, err, "GetUser")
	if u.Name != strconv.Itoa(n/2) {
		t.Errorf("counter = %q after %d committed increments", u.Name, n/2)
	}
	all, err := s.ListAudit(ctx, storage.AuditFilter{}, 0, 100)
	mustOK(t, err, "ListAudit")
	var ids []string
	for _, e := range all {
		ids = append(ids, e.ID)
	}
	var want []string
	for i := 0; i < n; i += 2 {
		want = append(want, fmt.Sprintf("tx-%02d", i))
	}
	assertStrings(t, "audit entries of committed transactions", want, sorted(ids))
}
