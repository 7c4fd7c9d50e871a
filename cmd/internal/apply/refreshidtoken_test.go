package apply

import (
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// TestRefreshIDTokenThroughTargets: refresh_id_token (OIDC Core §12.2)
// reaches the stored client through both targets, reads back as planned
// (a second run plans nothing), and a file that drops the key plans
// exactly that field and restores the default.
func TestRefreshIDTokenThroughTargets(t *testing.T) {
	const file = "clients:\n  - id: shop\n    name: Shop\n    redirect_uris: [https://shop.example/cb]\n" +
		"    token_endpoint_auth_method: none\n"
	run := func(t *testing.T, st storage.Store, tg Target) {
		ctx := t.Context()
		for _, step := range []struct {
			name   string
			file   string
			fields []string // of the first plan; nil: create
			omit   bool     // stored after it
		}{
			{"created without ID token on refresh", file + "    refresh_id_token: false\n", nil, true},
			{"key left out: default restored", file, []string{"refresh_id_token"}, false},
			{"turned off again", file + "    refresh_id_token: false\n", []string{"refresh_id_token"}, true},
		} {
			d := desire(t, step.file)
			for run := range 2 {
				p := planFor(t, tg, d)
				c := p.Changes[0]
				switch {
				case run == 1 && c.Action != Unchanged:
					t.Errorf("%s: second plan %s %v, want unchanged", step.name, c.Action, c.Fields)
				case run == 0 && step.fields == nil && c.Action != Create:
					t.Errorf("%s: plan %s, want create", step.name, c.Action)
				case run == 0 && step.fields != nil && (c.Action != Update || strings.Join(c.Fields, ",") != strings.Join(step.fields, ",")):
					t.Errorf("%s: plan %s %v, want update %v", step.name, c.Action, c.Fields, step.fields)
				}
				if _, err := Execute(ctx, tg, p); err != nil {
					t.Fatalf("%s: Execute: %v", step.name, err)
				}
			}
			if got, err := st.GetClient(ctx, "shop"); err != nil || got.OmitRefreshIDToken != step.omit {
				t.Fatalf("%s: stored OmitRefreshIDToken %v (%v), want %v", step.name, got != nil && got.OmitRefreshIDToken, err, step.omit)
			}
		}
	}
	t.Run("store", func(t *testing.T) {
		eachStore(t, func(t *testing.T, st storage.Store) { run(t, st, &StoreTarget{Store: st, Now: fixedNow}) })
	})
	t.Run("api", func(t *testing.T) {
		st, at := newAPI(t)
		run(t, st, at)
	})
}
