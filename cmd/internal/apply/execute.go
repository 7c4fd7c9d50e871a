package apply

import (
	"context"
	"errors"
	"fmt"
)

// GeneratedSecret is a client secret apply made, to be shown once.
type GeneratedSecret struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// Result is what Execute did: the changes written, in order, and the
// secrets it generated for them.
type Result struct {
	Done    []Change          `json:"done"`
	Secrets []GeneratedSecret `json:"generated_secrets,omitempty"`
}

// Execute carries out the plan on the target, one object at a time (each
// change atomic with its audit entry there). It stops at the first
// failure and returns what was done until then with an error that names
// the object; an object someone changed since the plan is never
// overwritten (ErrStale).
func Execute(ctx context.Context, t Target, p *Plan) (*Result, error) {
	res := &Result{}
	for _, c := range p.Changes {
		if c.Action == Unchanged {
			continue
		}
		if err := execute(ctx, t, c); err != nil {
			return res, changeError(c, err)
		}
		res.Done = append(res.Done, c)
		if c.generated {
			res.Secrets = append(res.Secrets, GeneratedSecret{ClientID: c.Name, ClientSecret: c.client.Secret})
		}
	}
	return res, nil
}

func execute(ctx context.Context, t Target, c Change) error {
	switch {
	case c.Kind == KindClient && c.Action == Create:
		return t.CreateClient(ctx, c.client)
	case c.Kind == KindClient && c.Action == Update:
		return t.UpdateClient(ctx, c.version, c.client)
	case c.Kind == KindClient && c.Action == Delete:
		return t.DeleteClient(ctx, c.Name, c.version)
	case c.Kind == KindGroup && c.Action == Create:
		return t.CreateGroup(ctx, c.group)
	case c.Kind == KindGroup && c.Action == Update:
		return t.UpdateGroup(ctx, c.version, c.group)
	case c.Kind == KindGroup && c.Action == Delete:
		return t.DeleteGroup(ctx, c.Name, c.version)
	}
	return fmt.Errorf("unknown change %s of a %s", c.Action, c.Kind)
}

// ChangeError is a failed change of Execute; Err is the target's error.
type ChangeError struct {
	Change Change
	Err    error
}

func changeError(c Change, err error) error { return &ChangeError{Change: c, Err: err} }

// Error words the failure for the operator.
func (e *ChangeError) Error() string {
	what := fmt.Sprintf("%s %q", e.Change.Kind, e.Change.Name)
	verb := map[Action]string{Create: "create", Update: "update", Delete: "delete"}[e.Change.Action]
	switch {
	case errors.Is(e.Err, ErrStale):
		return fmt.Sprintf("%s was changed by someone else after apply read it (through the admin API, the console "+
			"or another apply); apply did not %s it, so that change is kept. Run apply again to plan against the current state", what, verb)
	case errors.Is(e.Err, ErrGone):
		return fmt.Sprintf("%s was deleted by someone else after apply read it; apply did not %s it. Run apply again", what, verb)
	case errors.Is(e.Err, ErrExists):
		return fmt.Sprintf("%s was created by someone else after apply read the list; apply did not overwrite it. Run apply again", what)
	case errors.Is(e.Err, ErrInUse):
		return fmt.Sprintf("%s cannot be deleted: a client's allowed_groups names it", what)
	}
	return fmt.Sprintf("cannot %s %s: %v", verb, what, e.Err)
}

// Unwrap returns the target's error.
func (e *ChangeError) Unwrap() error { return e.Err }
