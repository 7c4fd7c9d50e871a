package op

import (
	"errors"
	"fmt"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

// checkKeys checks what op.New needs from its Keys: current keys for RS256
// (the default ID token algorithm, OIDC Core §15.1) and the access-token
// algorithm, and retired keys kept at least as long as those tokens live.
func checkKeys(cfg Config) error {
	var errs []error
	algs := cfg.Keys.Algorithms()
	for _, alg := range []jose.SignatureAlgorithm{defaultIDTokAlg, cfg.AccessTokenAlg} {
		if !slices.Contains(algs, string(alg)) {
			errs = append(errs, fmt.Errorf("op: no signing key for %s (keys sign with %v): pass it to Keys.Ensure", alg, algs))
		}
	}
	if r := cfg.Keys.Policy().Retention; r < max(cfg.AccessTokenTTL, cfg.IDTokenTTL) {
		errs = append(errs, fmt.Errorf("op: retired keys are kept %s, less than the token lifetimes (%s, %s)", r, cfg.AccessTokenTTL, cfg.IDTokenTTL))
	}
	return errors.Join(errs...)
}
