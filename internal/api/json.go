package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":"internal error","code":"internal"}`+"\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// decodeJSON reads a request body of at most limit bytes into dst,
// rejecting unknown fields, trailing data and non-JSON content types.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return newErr(http.StatusUnsupportedMediaType, codeUnsupportedType, "body must be application/json")
		}
	}
	if r.ContentLength > limit {
		return tooLarge(limit)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, limit)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(limit)
		}
		return badRequest("body must hold a single JSON object")
	}
	return nil
}

func tooLarge(limit int64) error {
	return newErr(http.StatusRequestEntityTooLarge, codeTooLarge, "body larger than %d bytes", limit)
}

// decodeError turns a JSON decoding error into a 400 (or 413) whose message
// names the problem but never echoes values.
func decodeError(err error, limit int64) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(limit)
	case errors.Is(err, io.EOF):
		return badRequest("empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("truncated JSON")
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return badRequest("field %s: wrong type", clip(te.Field, 64))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown field %s", clip(strings.TrimPrefix(err.Error(), "json: unknown field "), 66))
	}
	return badRequest("invalid JSON body")
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// fmtTime formats t in UTC as RFC 3339 with fractional seconds where
// present; the zero time gives "".
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// rawObject returns s (stored JSON) as a raw message, or {} when s is not
// a JSON object.
func rawObject(s string) json.RawMessage {
	b := []byte(strings.TrimSpace(s))
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return json.RawMessage(`{}`)
	}
	return b
}

// listBody is the shape of every list answer: {"<plural>": [...], "next": ""}.
func listBody[T any](plural string, items []T, next string) map[string]any {
	if items == nil {
		items = []T{}
	}
	return map[string]any{plural: items, "next": next}
}
