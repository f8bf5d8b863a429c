package api

import (
	"net/url"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"
)

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// validID reports whether s is a valid site or camera id: 1 to 64 of
// a-z, 0-9, '_' and '-', starting with a letter or digit. It rules out
// path traversal, SQL metacharacters and anything needing escaping.
func validID(s string) bool { return idRE.MatchString(s) }

var eventTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// parseTime parses an RFC 3339 query value (fractional seconds allowed).
func parseTime(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || t.Year() < 1970 {
		return time.Time{}, badRequest("%s: want an RFC 3339 time such as 2025-01-02T15:04:05Z", name)
	}
	return t.UTC(), nil
}

// optTime parses the query parameter name when present.
func optTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	return parseTime(name, v)
}

// parseRange reads from and to. A missing to means now; a missing from
// means def before to. from must be before to, at most maxLen apart.
func parseRange(q url.Values, now time.Time, def, maxLen time.Duration) (from, to time.Time, err error) {
	if from, err = optTime(q, "from"); err != nil {
		return from, to, err
	}
	if to, err = optTime(q, "to"); err != nil {
		return from, to, err
	}
	if to.IsZero() {
		to = now.UTC()
	}
	if from.IsZero() {
		from = to.Add(-def)
	}
	if !from.Before(to) {
		return from, to, badRequest("from must be before to")
	}
	if to.Sub(from) > maxLen {
		return from, to, badRequest("range longer than %s", maxLen)
	}
	return from, to, nil
}

// eventQuery is a parsed GET /api/v1/events query.
type eventQuery struct {
	camera, site, typ string
	from, to          time.Time
	limit             int
	cursor            string
}

// Event listing limits.
const (
	maxEventLimit = 1000
	maxCursorLen  = 256
)

// parseEventQuery validates the events query parameters.
func parseEventQuery(q url.Values) (eventQuery, error) {
	eq := eventQuery{camera: q.Get("camera"), site: q.Get("site"), typ: q.Get("type"), cursor: q.Get("cursor")}
	if eq.camera != "" && !validID(eq.camera) {
		return eq, badRequest("camera: invalid id")
	}
	if eq.site != "" && !validID(eq.site) {
		return eq, badRequest("site: invalid id")
	}
	if eq.typ != "" && !eventTypeRE.MatchString(eq.typ) {
		return eq, badRequest("type: invalid event type")
	}
	if len(eq.cursor) > maxCursorLen || !utf8.ValidString(eq.cursor) {
		return eq, badRequest("invalid cursor")
	}
	var err error
	if eq.from, err = optTime(q, "from"); err != nil {
		return eq, err
	}
	if eq.to, err = optTime(q, "to"); err != nil {
		return eq, err
	}
	if !eq.from.IsZero() && !eq.to.IsZero() && !eq.from.Before(eq.to) {
		return eq, badRequest("from must be before to")
	}
	eq.limit, err = parseLimit(q.Get("limit"))
	return eq, err
}

// parseLimit parses a page size: empty means the default (0), otherwise
// 1 to maxEventLimit.
func parseLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxEventLimit {
		return 0, badRequest("limit: want an integer from 1 to %d", maxEventLimit)
	}
	return n, nil
}
