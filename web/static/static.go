// Package static embeds the stylesheet and images of monban's browser pages,
// so that nothing is ever loaded from another origin.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed monban.css logo.svg passkey.js
var files embed.FS

// Prefix is the URL path under which Handler must be mounted.
const Prefix = "/static/"

// Stylesheet is the URL of the stylesheet, with a content hash as a query
// string so that browsers fetch a new copy whenever the file changes.
var Stylesheet = versioned("monban.css")

// Logo is the URL of the monban mark shown above every page.
var Logo = versioned("logo.svg")

// PasskeyScript is the URL of the WebAuthn script (passkey sign-in and
// registration), the only script of the pages.
var PasskeyScript = versioned("passkey.js")

func versioned(name string) string {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		panic("static: missing embedded file " + name)
	}
	sum := sha256.Sum256(b)
	return Prefix + name + "?v=" + hex.EncodeToString(sum[:6])
}

// Handler serves the embedded files. It must be mounted at Prefix. Directory
// listings are refused; responses are cacheable for a day and never sniffed.
func Handler() http.Handler {
	fileServer := http.StripPrefix(Prefix, http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		if name == "" || strings.HasSuffix(name, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
		fileServer.ServeHTTP(w, r)
	})
}
