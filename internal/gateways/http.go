package gateways

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/vigil-video/vigil/internal/api"
)

// maxBody bounds every request body the package reads.
const maxBody = 64 << 10

// decodeBody reads one JSON object of at most maxBody bytes into dst. On
// failure it has answered (400, 413 or 415) and returns false. Messages
// never echo the body (it may hold a token).
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	return decodeJSON(w, r, dst, maxBody, true)
}

// decodeJSON reads one JSON object of at most limit bytes into dst; strict
// refuses unknown fields. On failure it has answered (400, 413 or 415) and
// returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, limit int64, strict bool) bool {
	tooLarge := "body larger than " + strconv.FormatInt(limit, 10) + " bytes"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			api.WriteError(w, http.StatusUnsupportedMediaType, "body must be application/json")
			return false
		}
	}
	if r.ContentLength > limit {
		api.WriteError(w, http.StatusRequestEntityTooLarge, tooLarge)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(dst)
	if err == nil {
		if err2 := dec.Decode(&struct{}{}); !errors.Is(err2, io.EOF) {
			err = err2
			if err == nil {
				err = errors.New("trailing data")
			}
		}
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		api.WriteError(w, http.StatusRequestEntityTooLarge, tooLarge)
	} else {
		api.WriteError(w, http.StatusBadRequest, "body must be one JSON object with the documented fields")
	}
	return false
}

// writeJSON answers v as JSON. Answers that carry a secret must not be
// cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		api.WriteError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// api400 answers 400 with msg.
func api400(w http.ResponseWriter, msg string) { api.WriteError(w, http.StatusBadRequest, msg) }
