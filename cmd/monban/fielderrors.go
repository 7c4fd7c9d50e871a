package main

import (
	"errors"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
	"github.com/monban-idp/monban/storage/userpolicy"
)

// clientFlagOf and userFlagOf name the flag that sets each field the
// policies report on (storage.FieldError.Field); a field without a flag
// is printed without one.
var (
	clientFlagOf = map[string]string{
		clientpolicy.FieldID:                   "--id",
		clientpolicy.FieldName:                 "--name",
		clientpolicy.FieldAuthMethod:           "--auth-method",
		clientpolicy.FieldApplicationType:      "--native",
		clientpolicy.FieldRedirectURIs:         "--redirect-uri",
		clientpolicy.FieldPostLogoutURIs:       "--post-logout-redirect-uri",
		clientpolicy.FieldBackchannelLogoutURI: "--backchannel-logout-uri",
		clientpolicy.FieldAccessTokenTTL:       "--access-token-ttl",
		clientpolicy.FieldRefreshTokenTTL:      "--refresh-token-ttl",
		clientpolicy.FieldIDTokenAlg:           "--id-token-alg",
		clientpolicy.FieldGrantTypes:           "--grant",
		clientpolicy.FieldScopes:               "--scope",
		clientpolicy.FieldAllowedGroups:        "--allowed-group",
		clientpolicy.FieldClaimMappings:        "--claim-mapping",
		clientpolicy.FieldRequirePAR:           "--require-par",
	}
	userFlagOf = map[string]string{
		userpolicy.FieldUsername: "--username",
		userpolicy.FieldEmail:    "--email",
		userpolicy.FieldName:     "--name",
		userpolicy.FieldPassword: "--password-stdin",
		userpolicy.FieldAdmin:    "--admin",
	}
)

// flagErrors turns a policy's problems into one joined error, which the
// CLI prints a line per problem, each led by the flag that sets the field
// ("--redirect-uri: …"). It returns nil when there is no problem.
func flagErrors(fe storage.FieldErrors, flagOf map[string]string) error {
	var errs []error
	for _, e := range fe {
		if flag := flagOf[e.Field]; flag != "" {
			errs = append(errs, errors.New(flag+": "+e.Message))
		} else {
			errs = append(errs, errors.New(e.Message))
		}
	}
	return errors.Join(errs...)
}
