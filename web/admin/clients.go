package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
	"github.com/monban-idp/monban/web"
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

// listClients shows one page of clients in ID order: one statement for
// the page and one for the count.
func (h *Handler) listClients(w http.ResponseWriter, r *http.Request, a *admin) {
	ctx := r.Context()
	frame := h.frame(a, "admin.clients.title", "clients")
	q, ok := readListQuery(r, "")
	if !ok || q.before != "" {
		h.message(w, r, http.StatusBadRequest, a, "admin.clients.title", "admin.list.bad_cursor", "/admin/clients", "admin.back")
		return
	}
	clients, err := h.store.ListClientsPage(ctx, q.after, pageSize+1)
	if err != nil {
		h.storeError(w, r, "list clients", err)
		return
	}
	more := len(clients) > pageSize
	clients = clients[:min(len(clients), pageSize)]
	var d view.AdminClientList
	for _, c := range clients {
		d.Rows = append(d.Rows, view.AdminClientRow{ID: c.ID, Name: c.Name, Type: clientType(c), Disabled: c.Disabled})
	}
	var last string
	if len(clients) > 0 {
		last = clients[len(clients)-1].ID
	}
	// Clients and groups page forwards only (their stores read after a
	// cursor); "first page" leads back.
	d.Pager = pagerLinks("/admin/clients", nil, q, len(clients), more, "", last, false)
	c, err := h.store.CountRows(ctx)
	if err != nil {
		h.storeError(w, r, "count rows", err)
		return
	}
	d.Pager.Count = view.ListCount(ctx, c.Clients, c.Estimated)
	h.render(w, r, http.StatusOK, view.AdminClients(frame, d))
}

func (h *Handler) newClientForm(w http.ResponseWriter, r *http.Request, a *admin) {
	f := view.AdminClientForm{New: true, Type: view.ClientTypeWeb, Scopes: clientpolicy.DefaultScopes,
		RefreshIDToken: true, CSRFToken: h.pages.CSRFToken(w, r)}
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
	c.AllowedGroups = lines(f.Get("allowed_groups"))
	c.IDTokenSigningAlg = f.Get("id_token_alg")
	c.DPoPBoundAccessTokens = f.Get("dpop_bound") == "1"
	c.OmitRefreshIDToken = f.Get("refresh_id_token") != "1" // OIDC Core §12.2
	if !isNew {
		c.GrantTypes = f["grant"]
		c.TokenExchangeAudiences = lines(f.Get("token_exchange_audiences"))
		c.Disabled = f.Get("disabled") == "1"
		if k := chooseAuthMethod(c, f.Get(formAuthMethod)); k != "" {
			errs[formAuthMethod] = append(errs[formAuthMethod], i18n.T(r.Context(), k))
		}
	}
	for _, d := range []struct {
		field, label string
		dst          *time.Duration
	}{
		{"access_ttl", "admin.client.access_ttl", &c.AccessTokenTTL},
		{"id_token_ttl", "admin.client.id_token_ttl", &c.IDTokenTTL},
		{"refresh_ttl", "admin.client.refresh_ttl", &c.RefreshTokenTTL},
	} {
		v := strings.TrimSpace(f.Get(d.field))
		if v == "" {
			*d.dst = 0
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil || dur <= 0 {
			errs[formTTL] = append(errs[formTTL], i18n.T(r.Context(), "admin.err.duration",
				"Label", i18n.T(r.Context(), d.label), "Value", v))
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

// formTTL is the client form's one place for lifetime problems.
const formTTL = "ttl"

// formFields names the client form's place for each clientpolicy field
// whose form field has another name; a field the form lacks shows above
// the form (""). Other fields are named alike.
var formFields = map[string]string{
	clientpolicy.FieldID:              "id",
	clientpolicy.FieldName:            "name",
	clientpolicy.FieldScopes:          "scopes",
	clientpolicy.FieldIDTokenAlg:      "id_token_alg",
	clientpolicy.FieldAccessTokenTTL:  formTTL,
	clientpolicy.FieldIDTokenTTL:      formTTL,
	clientpolicy.FieldRefreshTokenTTL: formTTL,
	clientpolicy.FieldAuthMethod:      formAuthMethod,
	clientpolicy.FieldApplicationType: "",
}

// validate merges the form's own problems with clientpolicy's (the rules
// the CLI applies too), each next to its field in the page's language.
func validate(ctx context.Context, c *storage.Client, errs map[string][]string, opts ...clientpolicy.Option) map[string][]string {
	for _, e := range clientpolicy.ValidateClient(c, opts...) {
		k, ok := formFields[e.Field]
		if !ok {
			k = e.Field
		}
		errs[k] = append(errs[k], web.FieldMessage(ctx, e))
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
		BackchannelURI: c.BackchannelLogoutURI, Grants: c.GrantTypes, AllGrants: clientpolicy.RegistrableGrants(),
		Scopes: strings.Join(c.Scopes, " "), AccessTTL: ttl(c.AccessTokenTTL), RefreshTTL: ttl(c.RefreshTokenTTL),
		IDTokenTTL: ttl(c.IDTokenTTL), IDTokenAlg: c.IDTokenSigningAlg, Consent: c.RequireConsent,
		Disabled: c.Disabled, Public: c.Public(), AuthMethod: c.AuthMethod,
		AllowedGroups:     strings.Join(c.AllowedGroups, "\n"),
		ExchangeAudiences: strings.Join(c.TokenExchangeAudiences, "\n"),
		DPoPBound:         c.DPoPBoundAccessTokens, Registered: c.RegistrationTokenHash != "",
		RefreshIDToken: !c.OmitRefreshIDToken,
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
	c := &storage.Client{ID: r.PostForm.Get("id")} // as typed: clientpolicy decides, as for the CLI
	t := r.PostForm.Get("type")
	errs := formClient(r, c, true)
	if !applyType(c, t) {
		errs[""] = append(errs[""], i18n.T(r.Context(), "admin.err.client_type"))
		t = view.ClientTypeWeb
		applyType(c, t) // for the other checks; the form is refused anyway
	}
	if t == view.ClientTypeMachine {
		c.Scopes = slices.DeleteFunc(c.Scopes, func(s string) bool { return s == "openid" })
	}
	if k := chooseAuthMethod(c, r.PostForm.Get(formAuthMethod)); k != "" {
		errs[""] = append(errs[""], i18n.T(r.Context(), k))
	}
	errs = validate(r.Context(), c, errs, clientpolicy.AllowPrivateBackchannel(h.allowPrivateBackchannel))
	if err := checkAllowedGroups(r.Context(), h.store, c.AllowedGroups, errs); err != nil {
		h.storeError(w, r, "check allowed groups", err)
		return
	}
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
		f.Errors = map[string][]string{"id": {i18n.T(r.Context(), "admin.err.client_taken")}}
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
	f.Developer = h.developer(c)
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

// formRefused carries the form's problems out of an updater, which then
// writes nothing.
type formRefused struct {
	client *storage.Client
	errs   map[string][]string
}

func (e *formRefused) Error() string { return "client form refused" }

// updateClient applies the form to the client as stored now, under its
// row lock in the transaction that writes it and its audit entry
// (storage.Clients.UpdateClient), so a concurrent change (a secret
// rotated by the CLI) is never undone by a copy read earlier.
func (h *Handler) updateClient(w http.ResponseWriter, r *http.Request, a *admin) {
	c := h.loadClient(w, r, a) // 404 and the console's own client
	if c == nil {
		return
	}
	id := c.ID
	now := h.now().UTC()
	err := h.update(r, a, "client.update", "client:"+id, func(tx storage.Store) (any, any, error) {
		var before *storage.Client
		after, err := tx.UpdateClient(r.Context(), id, func(c *storage.Client) error {
			before = c.Clone()
			errs := validate(r.Context(), c, formClient(r, c, false), clientpolicy.AllowPrivateBackchannel(h.allowPrivateBackchannel))
			if err := checkAllowedGroups(r.Context(), tx, c.AllowedGroups, errs); err != nil {
				return err
			}
			if len(errs) > 0 {
				return &formRefused{client: c.Clone(), errs: errs}
			}
			if urisChanged(before, c) && !h.fresh(a) {
				return errFreshAuth
			}
			c.UpdatedAt = now
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		return clientSnapshot(before), clientSnapshot(after), nil
	})
	var refused *formRefused
	switch {
	case errors.Is(err, errFreshAuth):
		h.askFreshSignIn(w, r, a)
		return
	case errors.As(err, &refused):
		f := formOf(refused.client, h.pages.CSRFToken(w, r))
		f.Errors = refused.errs
		f.Scopes = r.PostForm.Get("scopes")
		h.render(w, r, http.StatusUnprocessableEntity, view.AdminClient(h.frame(a, "admin.client.title", "clients", "ID", id), f))
		return
	case errors.Is(err, storage.ErrNotFound):
		h.notFound(w, r, a, "admin.not_found.client")
		return
	case err != nil:
		h.storeError(w, r, "update client", err)
		return
	}
	http.Redirect(w, r, clientPath(id)+"?saved=1", http.StatusSeeOther)
}

// checkAllowedGroups files a problem under the form's allowed groups for
// each group of the rule that does not exist (clientpolicy.CheckAllowedGroups,
// as for the CLI and the admin API). On a save only; when the names are
// already refused it reads nothing.
func checkAllowedGroups(ctx context.Context, st storage.Groups, names []string, errs map[string][]string) error {
	if len(errs[clientpolicy.FieldAllowedGroups]) > 0 {
		return nil
	}
	fe, err := clientpolicy.CheckAllowedGroups(ctx, st, names)
	for _, e := range fe {
		errs[e.Field] = append(errs[e.Field], web.FieldMessage(ctx, e))
	}
	return err
}

// errFreshAuth stops a client change that needs a fresh sign-in.
var errFreshAuth = errors.New("fresh sign-in required")

// urisChanged reports whether a change of a client moves where the
// provider sends its codes, tokens or logout notices: the redirect URIs
// (whoever controls a new one receives the client's authorization codes,
// RFC 6749 §10.6), the post-logout redirect URIs, or the back-channel
// logout URI. Such a change needs a fresh sign-in like secret rotation
// (issue #13 item 11; checklist D2, ASVS 7.5.3).
func urisChanged(before, after *storage.Client) bool {
	return !slices.Equal(before.RedirectURIs, after.RedirectURIs) ||
		!slices.Equal(before.PostLogoutRedirectURIs, after.PostLogoutRedirectURIs) ||
		before.BackchannelLogoutURI != after.BackchannelLogoutURI
}

// formAuthMethod is the client form's choice of how a confidential client
// sends its secret (RFC 6749 §2.3.1). The form may omit it: the method
// then stays as it is (client_secret_basic for a new client).
const formAuthMethod = clientpolicy.FieldAuthMethod

// chooseAuthMethod applies the form's token_endpoint_auth_method v to c
// and returns the catalog key of a problem, or "". Only a confidential client chooses, and
// only between the two secret methods: whether a client is public follows
// from its type.
func chooseAuthMethod(c *storage.Client, v string) string {
	switch {
	case v == "" || v == c.AuthMethod:
		return ""
	case c.Public():
		return "admin.err.public_auth_method"
	case v == storage.AuthMethodBasic || v == storage.AuthMethodPost:
		c.AuthMethod = v
		return ""
	}
	return "admin.err.auth_method"
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
	http.Redirect(w, r, clientPath(id)+"/deleted", http.StatusSeeOther)
}

// errPublicClient stops a secret rotation of a client that is public.
var errPublicClient = errors.New("public client has no secret")

func (h *Handler) rotateSecret(w http.ResponseWriter, r *http.Request, a *admin) {
	c := h.loadClient(w, r, a)
	if c == nil {
		return
	}
	id := c.ID
	secret := storage.NewToken()
	now := h.now().UTC()
	err := h.update(r, a, "client.rotate_secret", "client:"+id, func(tx storage.Store) (any, any, error) {
		var before *storage.Client
		after, err := tx.UpdateClient(r.Context(), id, func(c *storage.Client) error {
			if c.Public() {
				return errPublicClient
			}
			before = c.Clone()
			c.SecretHash, c.UpdatedAt = storage.HashToken(secret), now
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		return clientSnapshot(before), clientSnapshot(after), nil
	})
	switch {
	case errors.Is(err, errPublicClient):
		h.message(w, r, http.StatusBadRequest, a, "admin.msg.no_secret.title", "admin.msg.no_secret.detail", clientPath(id), "admin.back")
		return
	case errors.Is(err, storage.ErrNotFound):
		h.notFound(w, r, a, "admin.not_found.client")
		return
	case err != nil:
		h.storeError(w, r, "rotate secret", err)
		return
	}
	h.render(w, r, http.StatusOK, view.AdminClientSecret(h.frame(a, "admin.secret.new_title", "clients"), id, secret))
}
