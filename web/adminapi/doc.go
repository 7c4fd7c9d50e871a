// Package adminapi serves the admin API at /admin/api/v1: JSON over
// REST for automation (CI, `monban apply --server`), beside the HTML
// console of package web/admin, with the same rules (storage/clientpolicy,
// storage/userpolicy) and the same audited, atomic changes
// (storage.AuditRecorder.Change).
//
// Authentication (RFC 6750). Every route but the OpenAPI document needs
// `Authorization: Bearer <access token>`: a token monban issued with the
// client_credentials grant (RFC 6749 §4.4) to a service account, a
// confidential client whose only grant is client_credentials and that
// registered admin scopes (clientpolicy.AdminScopes). The application
// hands in a TokenVerifier (op's verification and liveness checks,
// adapted in cmd/internal/app; web never imports op). Cookies are never
// read, so a person's browser session cannot authorise a call and there
// is no CSRF surface. No token: 401 with `WWW-Authenticate: Bearer`; a
// token that is invalid, expired, revoked or not a service account's:
// 401 error="invalid_token"; a token without the route's scope: 403
// error="insufficient_scope" (RFC 6750 §3.1). A DPoP-bound token (RFC 9449;
// got with a proof at /token) is accepted only with `Authorization: DPoP`
// and a proof for the call (htm the method, htu the API URL without the
// query, ath the token's hash, the server nonce when nonces are on) that
// Config.DPoP checks; as a bearer token it is refused (§7.1), and a
// refused proof is 401 with a DPoP challenge naming the RFC's error code
// (use_dpop_nonce comes with a DPoP-Nonce header). Without a DPoPChecker
// bound tokens are refused; unbound tokens work as bearer tokens either
// way.
//
// Scopes: admin:read reads everything; admin:write reads and changes
// everything; admin:clients, admin:users and admin:groups read and change
// only their kind of object, and only ordinary ones: creating, making or
// unmaking an administrator, or changing, disabling, enabling, signing
// out or deleting one, and creating, changing, rotating the secret of or
// deleting a client that holds (or would hold) an admin scope need
// admin:write (clientpolicy.CheckUserPrivilege and CheckClientPrivilege,
// checked on the row-locked object before and after the change). A
// refusal is 403 error="insufficient_scope" scope="admin:write" whose
// problem names the field (admin, scope) in errors; nothing changes and
// no audit entry is written. Groups confer no admin right, so
// admin:groups manages anyone's memberships.
//
// Errors are problem details (RFC 9457, application/problem+json) with
// type, title, status and detail; a refused object (422) lists every
// problem in `errors` as {field, code, message} from the policy packages
// (storage.FieldError). Go error texts never reach a client.
//
// Requests: bodies are JSON objects (Content-Type application/json, else
// 415), at most MaxBody bytes (413), decoded strictly: an unknown field,
// a second JSON value or trailing data is 400.
//
// Secrets: a client's secret is generated on POST and shown in that
// answer once, or rotated by POST /clients/{id}/secret; a caller that
// keeps its secrets elsewhere (monban apply --server) sets one it chose
// with the write-only client_secret of POST and PATCH, never shown back.
//
// Lists page by keyset: `?limit=` (1–MaxLimit, default DefaultLimit) and
// `?cursor=` (opaque; the `next` of the previous page). The answer is
// {"items": [...], "next": "..."}; `next` is absent on the last page.
//
// Versions: every GET of one object carries a strong ETag, a hash of its
// stored representation (UpdatedAt included). PATCH and DELETE honour an
// optional `If-Match`: when it names another version the answer is 412
// and nothing changes; for clients and users the comparison runs inside
// the row-locked update that writes the change (UpdateClient,
// UpdateUser), so check and write are one step. Without If-Match the
// change applies to the current version.
//
// Audit: every change is one audit entry written in the same transaction
// (ActorID "client:<id>", Actor the service account's client ID, Detail
// "admin API"); every call, reads included, is one log line with the
// service account.
//
// The routes and their JSON are documented in the OpenAPI 3.1 document
// served at /admin/api/v1/openapi.json (openapi.json in this package);
// a test fails when the document and the routes disagree.
package adminapi
