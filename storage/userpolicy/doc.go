// Package userpolicy holds the rules for people's accounts: what a
// username, a name, an e-mail address and a password must be, and which
// access changes an administrator may make. The CLI (cmd/monban user …)
// and the admin console (web/admin) both call these functions and present
// the storage.FieldErrors they return in their own way, so the two doors
// accept and refuse exactly the same input. The checks are pure
// functions; they import only the standard library and monban's storage
// packages.
package userpolicy
