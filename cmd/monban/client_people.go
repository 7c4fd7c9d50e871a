package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// peopleClientFlags are the client settings of issue 15: the group rule
// and the claim mapping ("client add" and "client update").
type peopleClientFlags struct {
	allowedGroups, claimMappings stringList
}

func addPeopleClientFlags(fs *flag.FlagSet) *peopleClientFlags {
	f := &peopleClientFlags{}
	fs.Var(&f.allowedGroups, "allowed-group", "only members of the group `NAME` may sign in "+
		"(repeatable: members of any; update replaces the list, an empty value clears it)")
	fs.Var(&f.claimMappings, "claim-mapping", "release a custom attribute as a claim: `CLAIM=ATTRIBUTE[@SCOPE]` "+
		"(scope default profile; repeatable; update replaces the list, an empty value clears it)")
	return f
}

// apply copies the given flags into cl; a malformed --claim-mapping is a
// usage error.
func (f *peopleClientFlags) apply(cl *storage.Client, set func(name string) bool) error {
	if set("allowed-group") {
		cl.AllowedGroups = nonEmpty(f.allowedGroups)
	}
	if set("claim-mapping") {
		cl.ClaimMappings = nil
		for _, v := range nonEmpty(f.claimMappings) {
			m, err := parseClaimMapping(v)
			if err != nil {
				return err
			}
			cl.ClaimMappings = append(cl.ClaimMappings, m)
		}
	}
	return nil
}

// nonEmpty drops empty values (a flag given as "" clears a list).
func nonEmpty(l stringList) []string {
	var out []string
	for _, v := range l {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parseClaimMapping reads CLAIM=ATTRIBUTE[@SCOPE].
func parseClaimMapping(v string) (storage.ClaimMapping, error) {
	claim, rest, ok := strings.Cut(v, "=")
	if !ok || claim == "" || rest == "" {
		return storage.ClaimMapping{}, usagef("--claim-mapping %q: want CLAIM=ATTRIBUTE or CLAIM=ATTRIBUTE@SCOPE", v)
	}
	attr, scope, ok := strings.Cut(rest, "@")
	if !ok {
		scope = "profile"
	}
	return storage.ClaimMapping{Attribute: attr, Claim: claim, Scope: scope}, nil
}

// checkAllowedGroups reports the groups of the rule that do not exist
// (clientpolicy.CheckAllowedGroups, the console's and the admin API's
// check too): a rule naming a group nobody can be in is a mistake.
func checkAllowedGroups(ctx context.Context, st storage.Store, names []string) error {
	fe, err := clientpolicy.CheckAllowedGroups(ctx, st, names)
	if err != nil {
		return dbError(err)
	}
	var errs []error
	for _, e := range fe {
		errs = append(errs, fmt.Errorf("--allowed-group: %s (create it with: monban group add %s)", e.Message, e.Args["Group"]))
	}
	return errors.Join(errs...)
}
