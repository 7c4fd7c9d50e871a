package clientpolicy

import (
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

// backchannelNetworkProblem describes why the provider would never
// deliver to the client's back-channel logout URI, or returns "". Host
// names other than localhost are not resolved here: their addresses are
// checked when a delivery connects. A URI that does not parse is left to
// ValidateClientLogout.
func backchannelNetworkProblem(cl *storage.Client, opts []Option) storage.FieldError {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if cl.BackchannelLogoutURI == "" || o.allowPrivateBackchannel {
		return storage.FieldError{}
	}
	u, err := url.Parse(cl.BackchannelLogoutURI)
	if err != nil || u.Hostname() == "" {
		return storage.FieldError{}
	}
	if err := netpolicy.CheckHost(u.Hostname()); err != nil {
		return storage.Problem("policy.uri.private_network", map[string]any{"URI": Shorten(cl.BackchannelLogoutURI)}, "back-channel logout URI %q is refused: %v; logout tokens go only to public addresses "+
			"unless private networks are allowed", Shorten(cl.BackchannelLogoutURI), err)
	}
	return storage.FieldError{}
}
