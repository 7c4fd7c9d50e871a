// Package jobs runs the application's background loops under one owner.
//
// Each job is a function that loops until its context ends. The
// application (cmd/internal/app) adds its jobs, Start runs each in its own
// goroutine, and Stop cancels them and waits until all have returned, so
// nothing writes to the store after the application closes it (checklist
// R7). The jobs of monban:
//
//	keys     signing-key refresh and rotation (op/keys.Keys.Run)
//	worker   back-channel logout delivery and session sweep (op.Worker.Run)
//	janitor  deletion of expired rows (cmd/internal/janitor.Janitor.Run)
package jobs
