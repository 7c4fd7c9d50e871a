package op

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// serverError turns an internal failure into an OAuth error that says
// nothing about the cause; the cause is logged. A store that cannot be
// reached makes the request retryable: 503 temporarily_unavailable
// (RFC 6749 §4.1.2.1 defines the code; RFC 7009 §2.2.1 the status).
func serverError(err error) error {
	slog.Log(context.Background(), failureLevel(err), "token endpoint failure", "error", err)
	return zop.NewStatusError(&oidc.Error{ErrorType: "temporarily_unavailable", Description: "the service is temporarily unavailable"}, http.StatusServiceUnavailable)
}

// writeOAuthError writes an OAuth JSON error (RFC 6749 §5.2).
func writeOAuthError(w http.ResponseWriter, status int, e *oidc.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{string(e.ErrorType), e.Description})
}

// failureLevel is the log level of a failed request: Error, except when
// it failed because the client went away first (its request context was
// cancelled), which is not the server's fault: Info.
func failureLevel(err error) slog.Level {
	if errors.Is(err, context.Canceled) {
		return slog.LevelInfo
	}
	return slog.LevelError
}
