package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// fakeAuditLog keeps appended entries, or fails with err.
type fakeAuditLog struct {
	entries []*storage.AuditEntry
	err     error
}

func (f *fakeAuditLog) AppendAudit(_ context.Context, e *storage.AuditEntry) error {
	if f.err != nil {
		return f.err
	}
	c := *e
	f.entries = append(f.entries, &c)
	return nil
}

func (f *fakeAuditLog) ListAudit(context.Context, storage.AuditFilter, int, int) ([]*storage.AuditEntry, error) {
	return nil, errors.New("not used")
}

// TestAuditRecorder: every entry gets exactly one log line with its
// fields, at a level that fits the action; a failed write is logged at
// Error and only RecordChange returns it.
func TestAuditRecorder(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name      string
		log       *fakeAuditLog // nil: no store
		change    bool          // RecordChange instead of Record
		entry     storage.AuditEntry
		wantLevel string
		wantMsg   string
		wantErr   bool
	}{
		{"sign-in", &fakeAuditLog{}, false, storage.AuditEntry{Action: storage.ActionSignIn, ActorID: "u1", Actor: "alice",
			Target: "session:s1", Address: "192.0.2.1", Detail: "client app"}, "INFO", "signed in", false},
		{"failed sign-in", &fakeAuditLog{}, false, storage.AuditEntry{Action: storage.ActionSignInFailed, Actor: "mallory",
			Address: "192.0.2.1", Detail: "unknown user"}, "WARN", "sign-in failed", false},
		{"refresh reuse", &fakeAuditLog{}, false, storage.AuditEntry{Action: storage.ActionRefreshReuse, ActorID: "u1",
			Target: "client:app"}, "WARN", "refresh token reuse detected; family revoked", false},
		{"admin change", &fakeAuditLog{}, true, storage.AuditEntry{Action: "client.update", ActorID: "u0", Actor: "root",
			Target: "client:app", Before: `{"id":"app"}`, After: `{"id":"app","name":"App"}`}, "INFO", "admin change", false},
		{"log only", nil, false, storage.AuditEntry{Action: storage.ActionLogout, ActorID: "u1", Target: "session:s1",
			Detail: "logout"}, "INFO", "session ended", false},
		{"store fails, event", &fakeAuditLog{err: errors.New("disk full")}, false, storage.AuditEntry{
			Action: storage.ActionConsentGrant, ActorID: "u1", Detail: "scopes: openid"}, "ERROR", "audit entry not written: consent granted", false},
		{"store fails, admin change", &fakeAuditLog{err: errors.New("disk full")}, true, storage.AuditEntry{
			Action: "user.disable", ActorID: "u0", Target: "user:u1"}, "ERROR", "audit entry not written: admin change", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := &storage.AuditRecorder{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Now: func() time.Time { return now }}
			if tc.log != nil {
				r.Log = tc.log
			}
			var err error
			if tc.change {
				err = r.RecordChange(t.Context(), tc.entry)
			} else {
				r.Record(t.Context(), tc.entry, "extra", "log only")
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1:\n%s", len(lines), buf.String())
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
				t.Fatal(err)
			}
			e := tc.entry
			if line["level"] != tc.wantLevel || line["msg"] != tc.wantMsg || line["event"] != e.Action || line["audit_id"] == "" {
				t.Errorf("line = %v, want %s %q for %s", line, tc.wantLevel, tc.wantMsg, e.Action)
			}
			for k, v := range map[string]string{"actor_id": e.ActorID, "actor": e.Actor, "target": e.Target,
				"address": e.Address, "detail": e.Detail, "before": e.Before, "after": e.After} {
				if got, _ := line[k].(string); got != v {
					t.Errorf("line[%s] = %q, want %q", k, got, v)
				}
			}
			if want := !tc.change; (line["extra"] == "log only") != want {
				t.Errorf("line[extra] = %v, want the extra attribute: %v", line["extra"], want)
			}
			if _, failed := line["err"]; failed != (tc.wantLevel == "ERROR") {
				t.Errorf("line[err] = %v", line["err"])
			}
			if tc.log == nil || tc.log.err != nil {
				return
			}
			if len(tc.log.entries) != 1 {
				t.Fatalf("%d entries stored, want 1", len(tc.log.entries))
			}
			got := tc.log.entries[0]
			e.ID, e.Time = got.ID, now.UTC()
			if *got != e || got.Time.Location() != time.UTC || got.ID == "" || line["audit_id"] != got.ID {
				t.Errorf("stored %+v, want %+v with a new ID and Now in UTC", got, e)
			}
		})
	}
}
