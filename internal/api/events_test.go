package api

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

type eventsPage struct {
	Events []eventJSON `json:"events"`
	Next   *string     `json:"next"`
}

func seedEvents(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	e.addCamera(t, "n1", "north", "")
	e.addCamera(t, "s1", "south", "")
	base := testNow().Add(-time.Hour)
	for i := range 10 {
		cam, typ := "n1", "motion"
		if i%2 == 1 {
			cam = "s1"
		}
		if i%5 == 0 {
			typ = "camera_offline"
		}
		ev := index.Event{Camera: cam, Type: typ, Start: base.Add(time.Duration(i) * time.Minute), Data: `{"score":0.5}`}
		if i == 0 {
			ev.End = ev.Start.Add(time.Second)
		}
		if _, err := e.idx.AddEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.idx.AddEvent(ctx, index.Event{Type: "storage", Start: base}); err != nil {
		t.Fatal(err)
	}
}

func TestEventsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedEvents(t, e)
	tests := []struct {
		name  string
		query url.Values
		c     cred
		count int
	}{
		{"admin sees all", nil, asRoot(), 11},
		{"scoped viewer sees its site", nil, asView(), 5},
		{"scoped asks other site", url.Values{"site": {"south"}}, asView(), 0},
		{"scoped asks other camera", url.Values{"camera": {"s1"}}, asOp(), 0},
		{"camera filter", url.Values{"camera": {"s1"}}, asOpAll(), 5},
		{"type filter", url.Values{"type": {"camera_offline"}}, asRoot(), 2},
		{"time filter", url.Values{"from": {"2025-06-01T11:02:00Z"}, "to": {"2025-06-01T11:04:00Z"}}, asRoot(), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "GET", "/api/v1/events?"+tt.query.Encode(), nil, tt.c).must(t, 200)
			var p eventsPage
			r.json(t, &p)
			if len(p.Events) != tt.count || p.Next == nil {
				t.Fatalf("got %d events: %s", len(p.Events), r.body)
			}
		})
	}
	r := e.do(t, "GET", "/api/v1/events?camera=n1&type=camera_offline", nil, asView()).must(t, 200)
	var p eventsPage
	r.json(t, &p)
	got := p.Events[0]
	if got.Camera != "n1" || got.Site != "north" || got.Start != "2025-06-01T11:00:00Z" || got.End != "2025-06-01T11:00:01Z" || string(got.Data) != `{"score":0.5}` || got.ID == 0 {
		t.Fatalf("event = %s", r.body)
	}
}

func TestEventsPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedEvents(t, e)
	var ids []int64
	cursor := ""
	for range 10 {
		q := url.Values{"limit": {"3"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := e.do(t, "GET", "/api/v1/events?"+q.Encode(), nil, asRoot()).must(t, 200)
		var p eventsPage
		r.json(t, &p)
		for _, ev := range p.Events {
			ids = append(ids, ev.ID)
		}
		if cursor = *p.Next; cursor == "" {
			break
		}
	}
	if len(ids) != 11 {
		t.Fatalf("paged through %d events: %v", len(ids), ids)
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("event %d twice", id)
		}
		seen[id] = true
	}
}

func TestEventsAPIErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name, query string
		c           cred
		want        int
	}{
		{"auditor", "", asAud(), 403},
		{"no auth", "", noCred, 401},
		{"bad camera", "camera=../x", asRoot(), 400},
		{"bad site", "site=a%27b", asRoot(), 400},
		{"bad type", "type=Motion!", asRoot(), 400},
		{"bad from", "from=now", asRoot(), 400},
		{"from after to", "from=2025-06-02T00:00:00Z&to=2025-06-01T00:00:00Z", asRoot(), 400},
		{"zero limit", "limit=0", asRoot(), 400},
		{"huge limit", "limit=1001", asRoot(), 400},
		{"text limit", "limit=ten", asRoot(), 400},
		{"bad cursor", "cursor=not-a-cursor", asRoot(), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(t, "GET", "/api/v1/events?"+tt.query, nil, tt.c).must(t, tt.want).errCode(t)
		})
	}
}
