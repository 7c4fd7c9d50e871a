package main

import (
	"context"
	"strconv"
	"time"

	"github.com/monban-idp/monban/storage"
)

// failedItems is "<outbox> failed" for one outbox: the items the provider
// gave up delivering after its bounded retries (storage.Queue.ListFailed),
// as a table or, with --output json, as J.
type failedItems[T storage.QueueItem, J any] struct {
	name   string // the command, e.g. "mail failed"
	queue  func(storage.Store) storage.Queue[T]
	none   string // what is printed when nothing was given up
	toJSON func(T) J
	header []string // the table's columns before ATTEMPTS, FAILED, LAST ERROR
	cells  func(T) []string
}

func (f failedItems[T, J]) run(c *cli) func(ctx context.Context, args []string) error {
	return func(ctx context.Context, args []string) error {
		cmd := c.dbCommand(f.name, "[--output json]", true)
		return cmd.run(ctx, args, 0, func(st storage.Store, _ []string, js bool) error {
			failed, err := f.queue(st).ListFailed(ctx)
			if err != nil {
				return dbError(err)
			}
			if js {
				return writeJSON(c.stdout, jsonList(failed, f.toJSON))
			}
			if len(failed) == 0 {
				c.printf("%s\n", f.none)
				return nil
			}
			tw := newTable(c.stdout)
			row(tw, append(f.header, "ATTEMPTS", "FAILED", "LAST ERROR")...)
			for _, it := range failed {
				st := it.State()
				row(tw, append(f.cells(it), strconv.Itoa(st.Attempts), st.FailedAt.UTC().Format(time.RFC3339), st.LastError)...)
			}
			return tw.Flush()
		})
	}
}
