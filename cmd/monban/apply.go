package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/monban-idp/monban/cmd/internal/apply"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// applySeams are the seams of "monban apply" for tests.
type applySeams struct {
	// open returns the store to apply to and a function that releases
	// it; nil: the database of --database-url.
	open func(ctx context.Context) (storage.Store, func(), error)
	// beforeExecute runs between the plan and the first write.
	beforeExecute func()
	// http is the HTTP client of --server; nil: apply.NewAPITarget's.
	http *http.Client
}

// apply runs "monban apply": configuration as code (issue 20 item 4).
func (c *cli) apply(ctx context.Context, args []string) error {
	return c.applyWith(ctx, args, applySeams{})
}

// applyOutput is "monban apply --output json".
type applyOutput struct {
	DryRun  bool                    `json:"dry_run"`
	Plan    *apply.Plan             `json:"plan"`
	Done    []apply.Change          `json:"done"`
	Secrets []apply.GeneratedSecret `json:"generated_secrets,omitempty"`
	Error   string                  `json:"error,omitempty"`
}

func (c *cli) applyWith(ctx context.Context, args []string, env applySeams) error {
	cmd := c.dbCommand("apply", "-f FILE [--dry-run] [--prune] [--adopt] [--server URL --token-file FILE] [--output json]", true)
	file := cmd.fs.String("f", "", "the configuration `file` to apply (- reads standard input)")
	dryRun := cmd.fs.Bool("dry-run", false, "print the plan and change nothing")
	prune := cmd.fs.Bool("prune", false, "delete managed clients and groups that the file no longer declares (never unmanaged ones)")
	adopt := cmd.fs.Bool("adopt", false, "take over existing unmanaged clients and groups that the file declares (mark them managed)")
	server := cmd.fs.String("server", "", "apply through the admin API of the server at `URL` (e.g. https://id.example.com) instead of the database")
	tokenFile := cmd.fs.String("token-file", "", "with --server: the `file` holding a service account's access token with admin:write")
	_, js, err := cmd.parse(args, 0)
	if err != nil {
		return err
	}
	if *file == "" {
		return usagef("-f FILE is required")
	}
	if (*server == "") != (*tokenFile == "") {
		return usagef("--server and --token-file go together")
	}
	f, err := c.readApplyFile(*file)
	if err != nil {
		return err
	}
	var policy []clientpolicy.Option
	if *server != "" {
		// The server's settings decide, and it checks every object again:
		// here only what holds everywhere.
		policy = []clientpolicy.Option{clientpolicy.AllowPrivateBackchannel(true)}
	} else if policy, err = c.clientPolicyOptions(cmd.cf); err != nil {
		return err
	}
	want, err := apply.Desire(f, apply.Env{Getenv: c.getenv, ReadFile: os.ReadFile, Policy: policy})
	if err != nil {
		return errors.Join(fmt.Errorf("%s: nothing was changed", *file), err)
	}
	var target apply.Target
	wordErr := dbError
	if *server != "" {
		if target, err = c.apiTarget(*server, *tokenFile, env.http); err != nil {
			return err
		}
		wordErr = func(err error) error { return err }
	} else {
		open := env.open
		if open == nil {
			open = func(ctx context.Context) (storage.Store, func(), error) {
				st, err := c.openStore(ctx, cmd.cf)
				if err != nil {
					return nil, nil, err
				}
				return st, st.Close, nil
			}
		}
		st, release, err := open(ctx)
		if err != nil {
			return err
		}
		defer release()
		target = &apply.StoreTarget{Store: st, Now: now}
	}
	state, err := apply.Load(ctx, target, want)
	if err != nil {
		return wordErr(err)
	}
	plan, err := apply.MakePlan(state, want, apply.Options{Prune: *prune, Adopt: *adopt})
	if err != nil {
		return errors.Join(fmt.Errorf("%s: nothing was changed", *file), err)
	}
	out := applyOutput{DryRun: *dryRun, Plan: plan, Done: []apply.Change{}}
	if *dryRun || plan.Empty() {
		if js {
			return writeJSON(c.stdout, out)
		}
		c.printPlan(plan, *prune)
		if *dryRun {
			c.printf("Dry run: nothing was changed.\n")
		}
		return nil
	}
	if env.beforeExecute != nil {
		env.beforeExecute()
	}
	res, execErr := apply.Execute(ctx, target, plan)
	var ce *apply.ChangeError
	if errors.As(execErr, &ce) {
		ce.Err = wordErr(ce.Err)
	}
	out.Done, out.Secrets = res.Done, res.Secrets
	if js {
		if execErr != nil {
			out.Error = execErr.Error()
		}
		if err := writeJSON(c.stdout, out); err != nil {
			return err
		}
		return execErr
	}
	c.printPlan(plan, *prune)
	if execErr != nil {
		c.printf("Stopped after %d of %d changes.\n", len(res.Done), len(plan.Changes)-plan.Count(apply.Unchanged))
	} else {
		c.printf("Applied: %d created, %d updated, %d deleted.\n", plan.Count(apply.Create), plan.Count(apply.Update), plan.Count(apply.Delete))
	}
	for _, s := range res.Secrets {
		c.printf("Client secret of %q (generated; shown only this once, monban stores only its hash): %s\n", s.ClientID, s.ClientSecret)
	}
	return execErr
}

// apiTarget is the target of --server: the token is the token file's
// content without surrounding white space. A token file others can read
// and a token sent in the clear to another machine are warned about.
func (c *cli) apiTarget(server, tokenFile string, hc *http.Client) (apply.Target, error) {
	fi, err := os.Stat(tokenFile)
	if err != nil {
		return nil, usagef("--token-file: %v", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(c.stderr, "monban: warning: the token file %s can be read by others (mode %04o); chmod 600 it\n", tokenFile, fi.Mode().Perm())
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, usagef("--token-file: %v", err)
	}
	t, err := apply.NewAPITarget(server, strings.TrimSpace(string(b)), hc)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if u, err := url.Parse(server); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		fmt.Fprintf(c.stderr, "monban: warning: --server %s is plain HTTP: the access token crosses the network in the clear; use https\n", server)
	}
	return t, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readApplyFile reads and decodes the file (- is standard input).
func (c *cli) readApplyFile(path string) (*apply.File, error) {
	var r io.Reader = c.stdin
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return nil, usagef("-f: %v", err)
		}
		defer fh.Close()
		r = fh
	}
	f, err := apply.Decode(r)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s: nothing was changed", path), err)
	}
	return f, nil
}

// printPlan prints the plan as text: a summary, a line per object, and
// what apply leaves alone.
func (c *cli) printPlan(p *apply.Plan, prune bool) {
	for _, n := range p.Notes {
		c.printf("Note: %s\n", clean(n))
	}
	if p.Empty() && len(p.Kept) == 0 {
		c.printf("Nothing to change: %d object(s) match the file.\n", p.Count(apply.Unchanged))
	} else {
		c.printf("Plan: %d to create, %d to update, %d to delete, %d unchanged.\n",
			p.Count(apply.Create), p.Count(apply.Update), p.Count(apply.Delete), p.Count(apply.Unchanged))
	}
	mark := map[apply.Action]string{apply.Create: "+", apply.Update: "~", apply.Delete: "-", apply.Unchanged: "="}
	for _, ch := range p.Changes {
		line := fmt.Sprintf("  %s %s %q", mark[ch.Action], ch.Kind, ch.Name)
		if len(ch.Fields) > 0 {
			line += ": " + strings.Join(ch.Fields, ", ")
		}
		c.printf("%s\n", line)
	}
	if len(p.Kept) > 0 {
		hint := "run with --prune to delete them"
		if prune {
			hint = "kept"
		}
		c.printf("Managed by apply but not in the file (%s): %s\n", hint, strings.Join(p.Kept, ", "))
	}
	if len(p.Unmanaged) > 0 {
		c.printf("Left alone (not managed by apply): %s\n", strings.Join(p.Unmanaged, ", "))
	}
}
