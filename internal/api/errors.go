package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

// Error codes of the JSON error body {"error": "...", "code": "..."}.
const (
	codeBadRequest       = "bad_request"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeConflict         = "conflict"
	codeTooLarge         = "too_large"
	codeUnsupportedType  = "unsupported_media_type"
	codeTooManyRequests  = "too_many_requests"
	codeInternal         = "internal"
	codeUnavailable      = "unavailable"
	codeRangeNotSatisfy  = "range_not_satisfiable"
)

// httpError is an error with the answer it deserves. msg is shown to the
// client and must never contain secrets.
type httpError struct {
	status     int
	code       string
	msg        string
	retryAfter time.Duration
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg) }

func newErr(status int, code, format string, args ...any) error {
	return &httpError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return newErr(http.StatusBadRequest, codeBadRequest, format, args...)
}

func notFound(what string) error {
	return newErr(http.StatusNotFound, codeNotFound, "%s not found", what)
}

func conflict(format string, args ...any) error {
	return newErr(http.StatusConflict, codeConflict, format, args...)
}

func forbidden(format string, args ...any) error {
	return newErr(http.StatusForbidden, codeForbidden, format, args...)
}

var errUnauthorized = &httpError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: "authentication required"}

// toHTTPError maps any error to its answer. Errors it does not know become
// a generic 500; internal reports whether the caller should log err.
func toHTTPError(err error) (he *httpError, internal bool) {
	var rl *auth.RateLimitError
	var ie *auth.InputError
	switch {
	case errors.As(err, &he):
		return he, false
	case errors.As(err, &rl):
		return &httpError{status: http.StatusTooManyRequests, code: codeTooManyRequests,
			msg: "too many failed logins; try again later", retryAfter: rl.RetryAfter}, false
	case errors.Is(err, auth.ErrInvalidCredentials):
		return &httpError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: "invalid credentials"}, false
	case errors.As(err, &ie):
		return &httpError{status: http.StatusBadRequest, code: codeBadRequest, msg: ie.Error()}, false
	case errors.Is(err, auth.ErrLastAdmin):
		return &httpError{status: http.StatusConflict, code: codeConflict, msg: "the change would leave no admin"}, false
	case errors.Is(err, auth.ErrNotFound), errors.Is(err, index.ErrNotFound):
		return &httpError{status: http.StatusNotFound, code: codeNotFound, msg: "not found"}, false
	case errors.Is(err, auth.ErrConflict), errors.Is(err, index.ErrConflict):
		return &httpError{status: http.StatusConflict, code: codeConflict, msg: "already exists"}, false
	case errors.Is(err, index.ErrInvalid):
		return &httpError{status: http.StatusBadRequest, code: codeBadRequest, msg: "invalid argument"}, false
	}
	return &httpError{status: http.StatusInternalServerError, code: codeInternal, msg: "internal error"}, true
}

// writeError answers err as JSON, logging internal errors (which are never
// echoed to the client).
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	he, internal := toHTTPError(err)
	if internal {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	switch he.status {
	case http.StatusUnauthorized:
		if r.Header.Get("X-Requested-With") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="vigil", charset="UTF-8"`)
		}
	case http.StatusTooManyRequests:
		secs := max(1, int(he.retryAfter.Round(time.Second)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeJSON(w, he.status, errorBody{Error: he.msg, Code: he.code})
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}
