package clientpolicy

import "github.com/monban-idp/monban/storage"

// FieldRequirePAR is the client's require_pushed_authorization_requests
// (RFC 9126 §6).
const FieldRequirePAR = "require_pushed_authorization_requests"

// validatePAR checks RequirePAR: it governs authorization requests, so it
// needs the authorization_code grant (a client without it never comes to
// /authorize, and the setting would promise a protection it cannot give).
func validatePAR(cl *storage.Client) storage.FieldErrors {
	var errs storage.FieldErrors
	if cl.RequirePAR && !cl.HasGrant("authorization_code") {
		errs.Add(FieldRequirePAR, "requiring pushed authorization requests needs the authorization_code grant")
	}
	return errs
}
