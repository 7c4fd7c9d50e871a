package main

import (
	"flag"
	"io"
	"os"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// keyClientFlags are the client settings of issue 19: the public keys of
// a private_key_jwt client ("client add" and "client update").
type keyClientFlags struct {
	jwksFile, jwksURI *string
	jwks              string // the file's content, read by load
}

func addKeyClientFlags(fs *flag.FlagSet) *keyClientFlags {
	return &keyClientFlags{
		jwksFile: fs.String("jwks-file", "", "private_key_jwt: the client's public keys, a JWK Set in `FILE` "+
			"(- reads standard input; an empty value clears them)"),
		jwksURI: fs.String("jwks-uri", "", "private_key_jwt: where the client publishes its public keys (https `URL`; "+
			"an empty value clears it)"),
	}
}

// load reads --jwks-file when given; problems are usage errors.
func (f *keyClientFlags) load(set func(name string) bool, stdin io.Reader) error {
	if !set("jwks-file") || *f.jwksFile == "" {
		return nil
	}
	var b []byte
	var err error
	if *f.jwksFile == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, clientpolicy.MaxJWKSBytes+1))
	} else {
		b, err = os.ReadFile(*f.jwksFile)
	}
	if err != nil {
		return usagef("--jwks-file: %v", err)
	}
	f.jwks = string(b)
	return nil
}

// apply copies the given flags into cl.
func (f *keyClientFlags) apply(cl *storage.Client, set func(name string) bool) {
	if set("jwks-file") {
		cl.JWKS = f.jwks
	}
	if set("jwks-uri") {
		cl.JWKSURI = *f.jwksURI
	}
}

// keyFlagOf names the flags of the key fields for policy errors.
var keyFlagOf = map[string]string{
	clientpolicy.FieldJWKS:    "--jwks-file",
	clientpolicy.FieldJWKSURI: "--jwks-uri",
}

func init() {
	for k, v := range keyFlagOf {
		clientFlagOf[k] = v
	}
}
