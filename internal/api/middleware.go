package api

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"
)

// middleware wraps the router with security headers, panic recovery,
// request logging and metrics.
func (a *API) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		setSecurityHeaders(w.Header())
		rw := &respWriter{ResponseWriter: w}
		li := &logInfo{}
		r = r.WithContext(context.WithValue(r.Context(), logInfoKey{}, li))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !rw.wrote {
					writeJSON(rw, http.StatusInternalServerError, errorBody{Error: "internal error", Code: codeInternal})
				}
			}
			status := rw.status()
			if r.Context().Err() != nil {
				// The client went away before the answer (a player
				// cancelling a blocking playlist reload, a closed tab):
				// what the handler wrote went nowhere.
				status = statusClientGone
			}
			a.observe(r, status, a.now().Sub(start), li.user)
		}()
		next.ServeHTTP(rw, r)
	})
}

// statusClientGone is logged and counted for a request whose client
// closed the connection before the answer (nginx's 499).
const statusClientGone = 499

// observe logs and counts a finished request. Only the path is logged:
// query strings are left out.
func (a *API) observe(r *http.Request, status int, d time.Duration, user string) {
	routeLabel := r.Pattern
	if routeLabel == "" {
		routeLabel = "unmatched"
	}
	a.metrics.requests.WithLabelValues(r.Method, routeLabel, strconv.Itoa(status)).Inc()
	a.metrics.duration.WithLabelValues(r.Method, routeLabel).Observe(d.Seconds())
	a.log.Info("http request", "method", r.Method, "path", r.URL.Path, "status", status,
		"duration", d, "user", user, "remote", RemoteIP(r))
}

func setSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
}

// respWriter records the status code.
type respWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *respWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher for handlers that stream (extra routes).
func (w *respWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wrote {
			w.code, w.wrote = http.StatusOK, true
		}
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *respWriter) status() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.code
}

// dispatch routes a request; requests no route matches are answered with
// a JSON 404 or 405 (with Allow) instead of the mux's plain text.
func (a *API) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch {
	case rec.code >= 300 && rec.code < 400:
		w.Header().Set("Location", rec.header.Get("Location"))
		w.WriteHeader(rec.code)
	case rec.code == http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeJSON(w, rec.code, errorBody{Error: "method not allowed", Code: codeMethodNotAllowed})
	default:
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no such route", Code: codeNotFound})
	}
}

// headerRecorder captures what the mux's fallback handlers answer.
type headerRecorder struct {
	header http.Header
	code   int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.code = code }
