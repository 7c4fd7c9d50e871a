package clientpolicy

import (
	"fmt"
	"net/url"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/netpolicy"
)

// Option adjusts ValidateClient to the deployment's settings.
type Option func(*options)

type options struct {
	allowPrivateBackchannel bool
}

// AllowPrivateBackchannel passes the deployment's
// backchannel_allow_private_networks setting: when allow is false (the
// default, without this option), a back-channel logout URI whose host is
// a loopback name or an IP literal that is not public is refused at
// registration, since every delivery to it would be refused
// (netpolicy.CheckHost; checklist L6).
func AllowPrivateBackchannel(allow bool) Option {
	return func(o *options) { o.allowPrivateBackchannel = allow }
}

// validateBackchannelNetwork refuses a back-channel logout URI that the
// provider would never deliver to. Host names other than localhost are
// not resolved here: their addresses are checked when a delivery
// connects. A URI that does not parse is left to ValidateClientLogout.
func validateBackchannelNetwork(cl *storage.Client, opts []Option) error {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if cl.BackchannelLogoutURI == "" || o.allowPrivateBackchannel {
		return nil
	}
	u, err := url.Parse(cl.BackchannelLogoutURI)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	if err := netpolicy.CheckHost(u.Hostname()); err != nil {
		return &FieldError{FieldBackchannelLogoutURI, fmt.Errorf(
			"back-channel logout URI %q is refused: %w; logout tokens go only to public addresses "+
				"unless backchannel_allow_private_networks is set", Shorten(cl.BackchannelLogoutURI), err)}
	}
	return nil
}
