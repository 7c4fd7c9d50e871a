// Package apply is configuration as code for monban (issue 20 item 4):
// it reads a declaration of clients, service accounts and groups (Decode),
// turns it into the objects it stands for (Desire), compares them with
// what a Target holds (Load, MakePlan) and carries the plan out (Execute),
// one object at a time, each change atomic with its audit entry.
//
// The planner is pure: it sees the target only as a State. How the
// objects are reached is the Target's business: StoreTarget works on the
// database; APITarget (--server) works through the admin API of a running
// server (web/adminapi) with a service account's token, the API's ETags
// as the opaque versions (If-Match, 412 → ErrStale). The API shows no
// secret hashes, so APITarget's clients are SecretUnknown and a secret
// the file declares is sent again on every run.
//
// Only objects marked Managed are ever deleted (with Prune), and an
// unmanaged object named in the file is refused unless Adopt is set. The
// rules for what a valid client or group is are those of
// storage/clientpolicy and storage/userpolicy, the same as for the CLI,
// the console and the API.
package apply
