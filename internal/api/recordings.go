package api

import (
	"net/http"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/timeline"
)

type spanJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type gapJSON struct {
	Start  string `json:"start"`
	End    string `json:"end"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

type recordingsJSON struct {
	From  string     `json:"from"`
	To    string     `json:"to"`
	Spans []spanJSON `json:"spans"`
	Gaps  []gapJSON  `json:"gaps"`
}

// recordings serves GET /api/v1/cameras/{id}/recordings?from=&to=: the
// camera's continuous spans of footage and the gaps between them (see
// timeline.Spans for the rules). to defaults to now, from to
// Config.DefaultRange before to; the range may not exceed Config.MaxRange.
func (a *API) recordings(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, err := a.cameraFor(r.Context(), p, auth.PermPlayback, r.PathValue("id"))
	if err != nil {
		return err
	}
	now := a.now()
	from, to, err := parseRange(r.URL.Query(), now, a.cfg.DefaultRange, a.cfg.MaxRange)
	if err != nil {
		return err
	}
	segs, err := a.idx.Segments(r.Context(), c.ID, from, to)
	if err != nil {
		return err
	}
	gaps, err := a.idx.Gaps(r.Context(), c.ID, from, to)
	if err != nil {
		return err
	}
	tl := timeline.Spans(timeline.Window{From: from, To: to, Now: now, JoinTolerance: a.cfg.JoinTolerance}, segs, gaps)
	writeJSON(w, http.StatusOK, toRecordingsJSON(from, to, tl))
	return nil
}

func toRecordingsJSON(from, to time.Time, tl timeline.Timeline) recordingsJSON {
	out := recordingsJSON{From: fmtTime(from), To: fmtTime(to),
		Spans: make([]spanJSON, 0, len(tl.Spans)), Gaps: make([]gapJSON, 0, len(tl.Gaps))}
	for _, s := range tl.Spans {
		out.Spans = append(out.Spans, spanJSON{Start: fmtTime(s.Start), End: fmtTime(s.End)})
	}
	for _, g := range tl.Gaps {
		out.Gaps = append(out.Gaps, gapJSON{Start: fmtTime(g.Start), End: fmtTime(g.End), State: string(g.State), Reason: g.Reason})
	}
	return out
}
