package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

type eventJSON struct {
	ID     int64           `json:"id"`
	Camera string          `json:"camera"`
	Site   string          `json:"site"`
	Type   string          `json:"type"`
	Start  string          `json:"start"`
	End    string          `json:"end,omitempty"`
	Data   json.RawMessage `json:"data"`
}

func toEventJSON(e index.Event) eventJSON {
	return eventJSON{ID: e.ID, Camera: e.Camera, Site: e.Site, Type: e.Type,
		Start: fmtTime(e.Start), End: fmtTime(e.End), Data: rawObject(e.Data)}
}

// listEvents serves GET /api/v1/events?camera=&site=&type=&from=&to=&limit=&cursor=:
// events newest first, limited to the caller's sites, a page at a time
// (next is the cursor of the following page, empty at the end).
func (a *API) listEvents(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q, err := parseEventQuery(r.URL.Query())
	if err != nil {
		return err
	}
	f := index.EventFilter{Camera: q.camera, Site: q.site, Type: q.typ, From: q.from, To: q.to,
		Limit: q.limit, Cursor: q.cursor}
	if p.Scoped() {
		f.Sites = p.Sites
	}
	page, err := a.idx.ListEvents(r.Context(), f)
	if errors.Is(err, index.ErrInvalid) {
		return badRequest("invalid cursor or filter")
	}
	if err != nil {
		return err
	}
	out := make([]eventJSON, 0, len(page.Events))
	for _, e := range page.Events {
		if visible(p, e.Site) {
			out = append(out, toEventJSON(e))
		}
	}
	writeJSON(w, http.StatusOK, listBody("events", out, page.Next))
	return nil
}
