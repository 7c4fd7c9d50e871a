package view

import (
	"context"
	"slices"
)

// ConnectorButton is one upstream identity provider on the sign-in page.
type ConnectorButton struct {
	ID  string
	URL string // the connector's start for this authorization request
	// Names is the display name per language tag ("" the fallback).
	Names map[string]string
}

// name is the button's provider name in the page's language.
func (b ConnectorButton) name(ctx context.Context) string { return localName(ctx, b.Names) }

// localName picks the page's language, the fallback, English, then any
// (in a stable order).
func localName(ctx context.Context, names map[string]string) string {
	for _, k := range []string{lang(ctx), "", "en"} {
		if v := names[k]; v != "" {
			return v
		}
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if names[k] != "" {
			return names[k]
		}
	}
	return ""
}

// LinkForm is the page that links an upstream identity to an existing
// local account after the person proves that account.
type LinkForm struct {
	RequestID string
	CSRFToken string
	// Provider names the upstream identity provider per language.
	Provider map[string]string
	Username string
	Error    string // catalog key; "" for none
}

// LinkedIdentity is one upstream identity linked to an account, as the
// account page and the console list it.
type LinkedIdentity struct {
	ConnectorID string
	Provider    map[string]string // display name per language; empty: the connector is gone
	Subject     string
	Email       string
	Created     string // formatted in the page's zone
	LastUsed    string
}

// providerName is the identity's provider name, or its connector id when
// the connector is no longer configured.
func (l LinkedIdentity) providerName(ctx context.Context) string {
	if n := localName(ctx, l.Provider); n != "" {
		return n
	}
	return l.ConnectorID
}
