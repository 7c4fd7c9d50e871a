package main

import "testing"

// TestClientRefreshIDToken: clients get an ID token on every refresh by
// default; "client add|update --refresh-id-token=BOOL" changes that (OIDC
// Core §12.2, issue 21), shown by "client show".
func TestClientRefreshIDToken(t *testing.T) {
	env, st := dbEnv(t)
	ctx := t.Context()
	mustRun(t, env, "", "client", "add", "--id", "web", "--name", "Web", "--redirect-uri", "https://web.example/cb")
	if c, _ := st.GetClient(ctx, "web"); c == nil || c.OmitRefreshIDToken {
		t.Fatalf("client add without the flag: %+v, want an ID token on refresh", c)
	}
	mustRun(t, env, "", "client", "add", "--id", "api", "--name", "API", "--redirect-uri", "https://api.example/cb",
		"--refresh-id-token=false")
	if c, _ := st.GetClient(ctx, "api"); c == nil || !c.OmitRefreshIDToken {
		t.Fatalf("client add --refresh-id-token=false: %+v", c)
	}
	var shown clientJSON
	decodeJSON(t, mustRun(t, env, "", "client", "show", "api", "--output", "json").stdout, &shown)
	if shown.RefreshIDToken {
		t.Error("client show --output json: refresh_id_token is true")
	}
	mustRun(t, env, "", "client", "update", "web", "--refresh-id-token=false")
	if c, _ := st.GetClient(ctx, "web"); !c.OmitRefreshIDToken {
		t.Fatal("client update --refresh-id-token=false kept the ID token")
	}
	mustRun(t, env, "", "client", "update", "web", "--name", "Web 2")
	if c, _ := st.GetClient(ctx, "web"); !c.OmitRefreshIDToken {
		t.Fatal("client update without the flag changed the setting")
	}
	mustRun(t, env, "", "client", "update", "web", "--refresh-id-token")
	if c, _ := st.GetClient(ctx, "web"); c.OmitRefreshIDToken {
		t.Fatal("client update --refresh-id-token did not bring the ID token back")
	}
}
