package main

import (
	"flag"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// exchangeClientFlags are the token exchange settings of issue 19 ("client
// add" and "client update"): the audiences the client may exchange tokens
// for (RFC 8693 §2.1).
type exchangeClientFlags struct {
	audiences stringList
}

func addExchangeClientFlags(fs *flag.FlagSet) *exchangeClientFlags {
	f := &exchangeClientFlags{}
	fs.Var(&f.audiences, "token-exchange-audience", "an audience the client may exchange tokens for (RFC 8693): an https `URL` "+
		"or a URN (repeatable; update replaces the list, an empty value clears it; needs the grant "+clientpolicy.GrantTokenExchange+")")
	return f
}

// apply copies the given flags into cl; empty values are dropped, so
// --token-exchange-audience "" clears the list.
func (f *exchangeClientFlags) apply(cl *storage.Client, set func(name string) bool) {
	if !set("token-exchange-audience") {
		return
	}
	cl.TokenExchangeAudiences = nil
	for _, a := range f.audiences {
		if a != "" {
			cl.TokenExchangeAudiences = append(cl.TokenExchangeAudiences, a)
		}
	}
}

func init() {
	clientFlagOf[clientpolicy.FieldTokenExchangeAudiences] = "--token-exchange-audience"
}
