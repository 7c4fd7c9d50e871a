package main

import "testing"

// TestClientDPoPBound: "client add --dpop-bound" and "client update
// --dpop-bound=BOOL" set dpop_bound_access_tokens (RFC 9449 §5.2), shown
// by "client show".
func TestClientDPoPBound(t *testing.T) {
	env, st := dbEnv(t)
	ctx := t.Context()
	mustRun(t, env, "", "client", "add", "--id", "spa", "--name", "SPA", "--redirect-uri", "https://spa.example/cb",
		"--auth-method", "none", "--dpop-bound")
	if c, _ := st.GetClient(ctx, "spa"); c == nil || !c.DPoPBoundAccessTokens {
		t.Fatalf("client add --dpop-bound: %+v", c)
	}
	var shown clientJSON
	decodeJSON(t, mustRun(t, env, "", "client", "show", "spa", "--output", "json").stdout, &shown)
	if !shown.DPoPBound {
		t.Error("client show --output json: dpop_bound_access_tokens is false")
	}
	mustRun(t, env, "", "client", "update", "spa", "--dpop-bound=false")
	if c, _ := st.GetClient(ctx, "spa"); c.DPoPBoundAccessTokens {
		t.Fatal("client update --dpop-bound=false kept the requirement")
	}
	mustRun(t, env, "", "client", "update", "spa", "--dpop-bound")
	if c, _ := st.GetClient(ctx, "spa"); !c.DPoPBoundAccessTokens {
		t.Fatal("client update --dpop-bound did not set the requirement")
	}
}
