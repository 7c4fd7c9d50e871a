// Package snippets renders the configuration an application developer
// needs to sign in with monban: Auth.js (next-auth v4 and v5), go-oidc,
// oauth2-proxy and mod_auth_openidc. It is the one source of both the
// admin console's client page and the README's "Integrations" section
// (a test keeps the README's code blocks equal to For's output).
//
// Snippets never contain a client secret: confidential clients read it
// from an environment variable or a file.
package snippets
