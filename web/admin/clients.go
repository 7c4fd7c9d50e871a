package admin

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// pageSize is how many rows a list page shows.
const pageSize = 50

// clientType derives the console's type of a stored client.
func clientType(c *storage.Client) string {
	switch {
	case c.Public() && c.ApplicationType == storage.ApplicationNative:
		return view.ClientTypeNative
	case c.Public():
		return view.ClientTypeSPA
	case len(c.GrantTypes) > 0 && !c.HasGrant("authorization_code"):
		return view.ClientTypeMachine
	}
	return view.ClientTypeWeb
}

// pageOf returns the 1-based page number from the query.
func pageOf(r *http.Request) int {
	p, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || p < 1 {
		return 1
	}
	return p
}

// pageLinks returns the previous and next links of a list.
func pageLinks(base string, q url.Values, page, total int) (prev, next string) {
	link := func(p int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(p))
		return base + "?" + v.Encode()
	}
	if page > 1 {
		prev = link(page - 1)
	}
	if page*pageSize < total {
		next = link(page + 1)
	}
	return prev, next
}

func (h *Handler) listClients(w http.ResponseWriter, r *http.Request, a *admin) {
	all, err := h.store.ListClients(r.Context())
	if err != nil {
		h.storeError(w, r, "list clients", err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var rows []view.AdminClientRow
	for _, c := range all {
		if q != "" && !containsFold(c.ID, q) && !containsFold(c.Name, q) {
			continue
		}
		rows = append(rows, view.AdminClientRow{ID: c.ID, Name: c.Name, Type: clientType(c), Disabled: c.Disabled})
	}
	page := pageOf(r)
	total := len(rows)
	lo := min((page-1)*pageSize, total)
	hi := min(lo+pageSize, total)
	qv := url.Values{}
	if q != "" {
		qv.Set("q", q)
	}
	prev, next := pageLinks("/admin/clients", qv, page, total)
	h.render(w, r, http.StatusOK, view.AdminClients(h.frame(a, "admin.clients.title", "clients"), view.AdminClientList{
		Query: q, Rows: rows[lo:hi], Page: page, PrevHref: prev, NextHref: next, Total: total,
	}))
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func (h *Handler) newClientForm(w http.ResponseWriter, r *http.Request, a *admin) {
	f := view.AdminClientForm{New: true, Type: view.ClientTypeWeb, Scopes: clientpolicy.DefaultScopes,
		CSRFToken: h.pages.CSRFToken(w, r)}
	h.render(w, r, http.StatusOK, view.AdminClient(h.frame(a, "admin.client.new_title", "clients"), f))
}

// formClient reads the editable fields of the client form into c and
// returns problems that clientpolicy cannot see (unparsable durations).
func formClient(r *http.Request, c *storage.Client, isNew bool) map[string][]string {
	errs := map[string][]string{}
	f := r.PostForm
	c.Name = strings.TrimSpace(f.Get("name"))
	c.RedirectURIs = lines(f.Get("redirect_uris"))
	c.PostLogoutRedirectURIs = lines(f.Get("post_logout_redirect_uris"))
	c.BackchannelLogoutURI = strings.TrimSpace(f.Get("backchannel_logout_uri"))
	c.BackchannelLogoutSessionRequired = c.BackchannelLogoutURI != ""
	c.Scopes = strings.Fields(f.Get("scopes"))
	c.RequireConsent = f.Get("consent") == "1"
	c.IDTokenSigningAlg = f.Get("id_token_alg")
	if !isNew {
		c.GrantTypes = f["grant"]
		c.Disabled = f.Get("disabled") == "1"
	}
	for _, d := range []struct {
		field, label string
		dst          *time.Duration
	}{
		{"access_ttl", "access token lifetime", &c.AccessTokenTTL},
		{"id_token_ttl", "ID token lifetime", &c.IDTokenTTL},
		{"refresh_ttl", "refresh token lifetime", &c.RefreshTokenTTL},
	} {
		v := strings.TrimSpace(f.Get(d.field))
		if v == "" {
			*d.dst = 0
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil || dur <= 0 {
			errs[clientpolicy.FieldTokenTTL] = append(errs[clientpolicy.FieldTokenTTL], d.label+" "+strconv.Quote(v)+" is not a duration such as 5m or 720h")
			continue
		}
		*d.dst = dur
	}
	return errs
}

// lines splits a textarea into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// cliHint matches the command-line hints in clientpolicy's messages, such
// as ` (--grant authorization_code,refresh_token)`; the form has no flags.
var cliHint = regexp.MustCompile(` \(--[a-z-]+ [^)]*\)`)

// validate merges the form's own problems with clientpolicy's, worded for
// the form.
func validate(c *storage.Client, errs map[string][]string) map[string][]string {
	for k, v := range clientpolicy.Fields(clientpolicy.ValidateClient(c)) {
		for _, m := range v {
			m = cliHint.ReplaceAllString(m, "")
			m = strings.ReplaceAll(m, "--redirect-uri", "redirect URI")
			errs[k] = append(errs[k], m)
		}
	}
	return errs
}

func formOf(c *storage.Client, csrf string) view.AdminClientForm {
	ttl := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	return view.AdminClientForm{
		CSRFToken: csrf, ID: c.ID, Name: c.Name, Type: clientType(c),
		RedirectURIs: strings.Join(c.RedirectURIs, "\n"), PostLogoutURIs: strings.Join(c.PostLogoutRedirectURIs, "\n"),
		BackchannelURI: c.BackchannelLogoutURI, Grants: c.GrantTypes, AllGrants: clientpolicy.SupportedGrants,
		Scopes: strings.Join(c.Scopes, " "), AccessTTL: ttl(c.AccessTokenTTL), RefreshTTL: ttl(c.RefreshTokenTTL),
		IDTokenTTL: ttl(c.IDTokenTTL), IDTokenAlg: c.IDTokenSigningAlg, Consent: c.RequireConsent,
		Disabled: c.Disabled, Public: c.Public(),
	}
}

// applyType sets the authentication method, application type and grants
// that a client type implies.
func applyType(c *storage.Client, t string) bool {
	switch t {
	case view.ClientTypeWeb:
		c.AuthMethod, c.ApplicationType = storage.AuthMethodBasic, storage.ApplicationWeb
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
	case view.ClientTypeSPA:
		c.AuthMethod, c.ApplicationType = storage.AuthMethodNone, storage.ApplicationWeb
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
	case view.ClientTypeNative:
		c.AuthMethod, c.ApplicationType = storage.AuthMethodNone, storage.ApplicationNative
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
	case view.ClientTypeMachine:
		c.AuthMethod, c.ApplicationType = storage.AuthMethodBasic, storage.ApplicationWeb
		c.GrantTypes = []string{"client_credentials"}
	default:
		return false
	}
	return true
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request, a *admin) {
	c := &storage.Client{ID: strings.TrimSpace(r.PostForm.Get("id"))}
	t := r.PostForm.Get("type")
	errs := formClient(r, c, true)
	if !applyType(c, t) {
		errs[""] = append(errs[""], "choose one of the client types")
		t = view.ClientTypeWeb
	}
	if c.ID == "" {
		errs[clientpolicy.FieldID] = append(errs[clientpolicy.FieldID], "a client ID is required")
	}
	if c.Name == "" {
		errs[clientpolicy.FieldName] = append(errs[clientpolicy.FieldName], "a name is required")
	}
	if t == view.ClientTypeMachine {
		c.Scopes = slices.DeleteFunc(c.Scopes, func(s string) bool { return s == "openid" })
	}
	errs = validate(c, errs)
	if len(errs) > 0 {
		f := formOf(c, h.pages.CSRFToken(w, r))
		f.New, f.Type, f.Errors = true, t, errs
		f.Scopes = r.PostForm.Get("scopes")
		h.render(w, r, http.StatusUnprocessableEntity, view.AdminClient(h.frame(a, "admin.client.new_title", "clients"), f))
		return
	}
	var secret string
	if !c.Public() {
		secret = storage.NewToken()
		c.SecretHash = storage.HashToken(secret)
	}
	now := h.now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	err := h.change(r, a, "client.create", "client:"+c.ID, nil, clientSnapshot(c),
		func(tx storage.Store) error { return tx.CreateClient(r.Context(), c) })
	if errors.Is(err, storage.ErrAlreadyExists) {
		f := formOf(c, h.pages.CSRFToken(w, r))
		f.New, f.Type = true, t
		f.Errors = map[string][]string{clientpolicy.FieldID: {"client " + strconv.Quote(c.ID) + " already exists"}}
		h.render(w, r, http.StatusConflict, view.AdminClient(h.frame(a, "admin.client.new_title", "clients"), f))
		return
	} else if err != nil {
		h.storeError(w, r, "create client", err)
		return
	}
	if secret == "" {
		http.Redirect(w, r, clientPath(c.ID)+"?created=1", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, view.AdminClientSecret(h.frame(a, "admin.secret.created_title", "clients"), c.ID, secret))
}

func clientPath(id string) string { return "/admin/clients/" + url.PathEscape(id) }

// loadClient returns the client named in the path, or writes 404.
func (h *Handler) loadClient(w http.ResponseWriter, r *http.Request, a *admin) *storage.Client {
	c, err := h.store.GetClient(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.client")
		return nil
	}
	if err != nil {
		h.storeError(w, r, "get client", err)
		return nil
	}
	if c.ID == ClientID && r.Method == http.MethodPost {
		// Changing the console's own client could lock every administrator
		// out; the CLI can still do it.
		h.message(w, r, http.StatusBadRequest, a, "admin.msg.own_client.title",
			"admin.msg.own_client.detail", clientPath(c.ID), "admin.back")
		return nil
	}
	return c
}

func (h *Handler) showClient(w http.ResponseWriter, r *http.Request, a *admin) {
	c := h.loadClient(w, r, a)
	if c == nil {
		return
	}
	f := formOf(c, h.pages.CSRFToken(w, r))
	switch {
	case r.URL.Query().Has("created"):
		f.Notice = i18n.T(r.Context(), "admin.notice.client_created")
	case r.URL.Query().Has("saved"):
		f.Notice = i18n.T(r.Context(), "admin.notice.saved")
	}
	h.render(w, r, http.StatusOK, view.AdminClient(h.frame(a, "admin.client.title", "clients", "ID", c.ID), f))
}

// errAudit stands for a failed audit write in the store-error log line
// (record has logged the cause).
var errAudit = errors.New("audit entry not written")

func (h *Handler) updateClient(w http.ResponseWriter, r *http.Request, a *admin) {
	c := h.loadClient(w, r, a)
	if c == nil {
		return
	}
	before := *c
	before.RedirectURIs, before.PostLogoutRedirectURIs = slices.Clone(c.RedirectURIs), slices.Clone(c.PostLogoutRedirectURIs)
	before.GrantTypes, before.Scopes = slices.Clone(c.GrantTypes), slices.Clone(c.Scopes)
	errs := validate(c, formClient(r, c, false))
	if len(errs) > 0 {
		f := formOf(c, h.pages.CSRFToken(w, r))
		f.Errors = errs
		f.Scopes = r.PostForm.Get("scopes")
		h.render(w, r, http.StatusUnprocessableEntity, view.AdminClient(h.frame(a, "admin.client.title", "clients", "ID", c.ID), f))
		return
	}
	c.UpdatedAt = h.now().UTC()
	if err := h.change(r, a, "client.update", "client:"+c.ID, clientSnapshot(&before), clientSnapshot(c),
		func(tx storage.Store) error { return tx.UpdateClient(r.Context(), c) }); errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.client")
		return
	} else if err != nil {
		h.storeError(w, r, "update client", err)
		return
	}
	http.Redirect(w, r, clientPath(c.ID)+"?saved=1", http.StatusSeeOther)
}

func (h *Handler) confirmDeleteClient(w http.ResponseWriter, r *http.Request, a *admin) {
	c := h.loadClient(w, r, a)
	if c == nil {
		return
	}
	h.render(w, r, http.StatusOK, view.AdminConfirm(h.frame(a, "admin.client.delete_title", "clients", "ID", c.ID),
		i18n.T(r.Context(), "admin.client.delete_detail"),
		clientPath(c.ID)+"/delete", h.pages.CSRFToken(w, r), i18n.T(r.Context(), "admin.client.delete")))
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request, a *admin) {
	before := h.loadClient(w, r, a)
	if before == nil {
		return
	}
	id := before.ID
	if err := h.change(r, a, "client.delete", "client:"+id, clientSnapshot(before), nil,
		func(tx storage.Store) error { return tx.DeleteClient(r.Context(), id) }); errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.client")
		return
	} else if err != nil {
		h.storeError(w, r, "delete client", err)
		return
	}
	http.Redirect(w, r, "/admin/clients", http.StatusSeeOther)
}

func (h *Handler) rotateSecret(w http.ResponseWriter, r *http.Request, a *admin) {
	c := h.loadClient(w, r, a)
	if c == nil {
		return
	}
	if c.Public() {
		h.message(w, r, http.StatusBadRequest, a, "admin.msg.no_secret.title", "admin.msg.no_secret.detail", clientPath(c.ID), "admin.back")
		return
	}
	before := *c
	secret := storage.NewToken()
	c.SecretHash = storage.HashToken(secret)
	c.UpdatedAt = h.now().UTC()
	if err := h.change(r, a, "client.rotate_secret", "client:"+c.ID, clientSnapshot(&before), clientSnapshot(c),
		func(tx storage.Store) error { return tx.UpdateClient(r.Context(), c) }); err != nil {
		h.storeError(w, r, "rotate secret", err)
		return
	}
	h.render(w, r, http.StatusOK, view.AdminClientSecret(h.frame(a, "admin.secret.new_title", "clients"), c.ID, secret))
}
