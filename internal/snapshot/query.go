package snapshot

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Width bounds of ?width=.
const (
	minWidth = 32
	maxWidth = 3840
)

// query is a parsed snapshot request.
type query struct {
	// At is the recorded instant asked for; zero for live.
	At time.Time
	// Width scales the picture to this width (height keeps the aspect
	// ratio); 0 keeps the camera's size.
	Width int
}

// errQuery is wrapped by every malformed-query error.
var errQuery = errors.New("invalid query")

// parseQuery reads ?at= (RFC 3339) and ?width= (32..3840).
func parseQuery(v url.Values) (query, error) {
	var q query
	if s := v.Get("at"); s != "" {
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return query{}, fmt.Errorf("%w: at: must be an RFC 3339 time", errQuery)
		}
		q.At = at
	}
	if s := v.Get("width"); s != "" {
		w, err := strconv.Atoi(s)
		if err != nil || w < minWidth || w > maxWidth {
			return query{}, fmt.Errorf("%w: width: must be an integer from %d to %d", errQuery, minWidth, maxWidth)
		}
		q.Width = w
	}
	return q, nil
}
