package indextest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

func addEvent(t *testing.T, idx index.Index, e index.Event) index.Event {
	t.Helper()
	id, err := idx.AddEvent(ctxT(t), e)
	ok(t, err, "add event")
	e.ID = id
	if e.Data == "" {
		e.Data = "{}"
	}
	return e
}

func eventIDs(evs []index.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func sameEvent(t *testing.T, got, want index.Event) {
	t.Helper()
	if got.ID != want.ID || got.Camera != want.Camera || got.Site != want.Site || got.Type != want.Type ||
		got.Data != want.Data || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
		t.Errorf("event:\n got %+v\nwant %+v", got, want)
	}
	sameTime(t, got.Start, want.Start, "event Start")
	sameTime(t, got.End, want.End, "event End")
}

// listAll lists with f and fails unless it fits in one page.
func listAll(t *testing.T, idx index.Index, f index.EventFilter) []index.Event {
	t.Helper()
	page, err := idx.ListEvents(ctxT(t), f)
	ok(t, err, "list events")
	if page.Next != "" {
		t.Fatalf("unexpected next page for %+v", f)
	}
	return page.Events
}

func testEvents(t *testing.T, open Opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, idx index.Index)
	}{
		{"RoundTrip", eventRoundTrip},
		{"End", eventEnd},
		{"WriteBatch", eventWriteBatch},
		{"SiteFromCamera", eventSiteFromCamera},
		{"EmptyType", func(t *testing.T, idx index.Index) {
			_, err := idx.AddEvent(ctxT(t), index.Event{Start: at(0)})
			isErr(t, err, index.ErrInvalid, "add event without type")
		}},
		{"DeleteBefore", eventDeleteBefore},
		{"BadCursor", func(t *testing.T, idx index.Index) {
			for _, c := range []string{"!", "not-a-cursor", "AAAA", "////"} {
				_, err := idx.ListEvents(ctxT(t), index.EventFilter{Cursor: c})
				isErr(t, err, index.ErrInvalid, "list with cursor "+c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, open(t))
		})
	}
}

func eventRoundTrip(t *testing.T, idx index.Index) {
	evs := []index.Event{
		{Camera: "cam1", Type: "motion", Start: at(time.Second), End: at(3 * time.Second), Data: `{"score":0.9}`},
		{Type: "storage", Start: at(2 * time.Second)},
		{Camera: "cam2", Site: "hq", Type: "camera_offline", Start: at(time.Millisecond + time.Microsecond)},
	}
	for i := range evs {
		evs[i] = addEvent(t, idx, evs[i])
	}
	got := listAll(t, idx, index.EventFilter{})
	want := []index.Event{evs[1], evs[0], evs[2]}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range got {
		sameEvent(t, got[i], want[i])
	}
}

func eventEnd(t *testing.T, idx index.Index) {
	e := addEvent(t, idx, index.Event{Camera: "cam1", Type: "motion", Start: at(0)})
	e.End = at(5 * time.Second)
	ok(t, idx.EndEvent(ctxT(t), e.ID, e.End), "end event")
	got := listAll(t, idx, index.EventFilter{})
	if len(got) != 1 {
		t.Fatalf("got %d events", len(got))
	}
	sameEvent(t, got[0], e)
	isErr(t, idx.EndEvent(ctxT(t), e.ID+100, at(0)), index.ErrNotFound, "end missing event")
}

// eventWriteBatch checks WriteEvents: ends and adds in one call, ids in
// order, unknown ends ignored, and a bad batch writes nothing.
func eventWriteBatch(t *testing.T, idx index.Index) {
	mustSite(t, idx, "hq")
	mustCamera(t, idx, index.Camera{ID: "cam1", Site: "hq"})
	off := addEvent(t, idx, index.Event{Camera: "cam1", Type: "camera_offline", Start: at(0)})
	ids, err := idx.WriteEvents(ctxT(t), nil, nil)
	ok(t, err, "write nothing")
	if len(ids) != 0 {
		t.Fatalf("write nothing: ids %v", ids)
	}
	adds := []index.Event{
		{Camera: "cam1", Type: "camera_online", Start: at(5 * time.Second)},
		{Camera: "cam2", Site: "depot", Type: "camera_offline", Start: at(6 * time.Second), Data: `{"n":1}`},
	}
	ends := []index.EventEnd{{ID: off.ID, End: at(5 * time.Second)}, {ID: off.ID + 1000, End: at(time.Second)}}
	ids, err = idx.WriteEvents(ctxT(t), ends, adds)
	ok(t, err, "write events")
	if len(ids) != 2 || ids[0] == ids[1] || ids[0] == off.ID || ids[1] == off.ID {
		t.Fatalf("ids %v", ids)
	}
	off.End, off.Site = at(5*time.Second), "hq"
	want := []index.Event{
		{ID: ids[1], Camera: "cam2", Site: "depot", Type: "camera_offline", Start: at(6 * time.Second), Data: `{"n":1}`},
		{ID: ids[0], Camera: "cam1", Site: "hq", Type: "camera_online", Start: at(5 * time.Second), Data: "{}"},
		off,
	}
	got := listAll(t, idx, index.EventFilter{})
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range got {
		sameEvent(t, got[i], want[i])
	}
	_, err = idx.WriteEvents(ctxT(t), []index.EventEnd{{ID: off.ID, End: at(9 * time.Second)}},
		[]index.Event{{Camera: "cam1", Type: "motion", Start: at(7 * time.Second)}, {Camera: "cam1", Start: at(8 * time.Second)}})
	isErr(t, err, index.ErrInvalid, "write a batch with an event without type")
	got = listAll(t, idx, index.EventFilter{})
	if len(got) != len(want) {
		t.Fatalf("a failed batch wrote events: %d, want %d", len(got), len(want))
	}
	sameEvent(t, got[2], off)
}

func eventSiteFromCamera(t *testing.T, idx index.Index) {
	mustSite(t, idx, "hq")
	mustSite(t, idx, "depot")
	mustCamera(t, idx, index.Camera{ID: "cam1", Site: "hq"})
	inherit := addEvent(t, idx, index.Event{Camera: "cam1", Type: "motion", Start: at(0)})
	explicit := addEvent(t, idx, index.Event{Camera: "cam1", Site: "depot", Type: "motion", Start: at(time.Second)})
	unknown := addEvent(t, idx, index.Event{Camera: "ghost", Type: "motion", Start: at(2 * time.Second)})
	inherit.Site = "hq"
	got := listAll(t, idx, index.EventFilter{})
	want := []index.Event{unknown, explicit, inherit}
	if len(got) != len(want) {
		t.Fatalf("got %d events", len(got))
	}
	for i := range got {
		sameEvent(t, got[i], want[i])
	}
}

func eventDeleteBefore(t *testing.T, idx index.Index) {
	var evs []index.Event
	for i := range 5 {
		evs = append(evs, addEvent(t, idx, index.Event{Type: "motion", Start: at(time.Duration(i) * time.Hour)}))
	}
	ok(t, idx.DeleteEventsBefore(ctxT(t), at(2*time.Hour)), "delete events before")
	got := eventIDs(listAll(t, idx, index.EventFilter{}))
	want := []int64{evs[4].ID, evs[3].ID, evs[2].ID}
	if !slices.Equal(got, want) {
		t.Errorf("events after delete = %v, want %v", got, want)
	}
}

func testEventFilters(t *testing.T, open Opener) {
	idx := open(t)
	mustSite(t, idx, "hq")
	mustSite(t, idx, "depot")
	mustCamera(t, idx, index.Camera{ID: "c1", Site: "hq"})
	mustCamera(t, idx, index.Camera{ID: "c2", Site: "depot"})
	mustCamera(t, idx, index.Camera{ID: "c3"})
	m := time.Minute
	e1 := addEvent(t, idx, index.Event{Camera: "c1", Type: "motion", Start: at(0)})
	e2 := addEvent(t, idx, index.Event{Camera: "c2", Type: "motion", Start: at(m)})
	e3 := addEvent(t, idx, index.Event{Camera: "c1", Type: "camera_offline", Start: at(2 * m)})
	e4 := addEvent(t, idx, index.Event{Type: "storage", Start: at(3 * m)})
	e5 := addEvent(t, idx, index.Event{Camera: "c3", Type: "motion", Start: at(4 * m)})
	e6 := addEvent(t, idx, index.Event{Site: "depot", Type: "tamper", Start: at(5 * m)})
	tests := []struct {
		name string
		f    index.EventFilter
		want []index.Event
	}{
		{"None", index.EventFilter{}, []index.Event{e6, e5, e4, e3, e2, e1}},
		{"Camera", index.EventFilter{Camera: "c1"}, []index.Event{e3, e1}},
		{"Site", index.EventFilter{Site: "depot"}, []index.Event{e6, e2}},
		{"Type", index.EventFilter{Type: "motion"}, []index.Event{e5, e2, e1}},
		{"From", index.EventFilter{From: at(4 * m)}, []index.Event{e6, e5}},
		{"To", index.EventFilter{To: at(m)}, []index.Event{e1}},
		{"FromTo", index.EventFilter{From: at(m), To: at(3 * m)}, []index.Event{e3, e2}},
		{"CameraType", index.EventFilter{Camera: "c1", Type: "motion"}, []index.Event{e1}},
		{"SitesOne", index.EventFilter{Sites: []string{"hq"}}, []index.Event{e3, e1}},
		{"SitesTwo", index.EventFilter{Sites: []string{"hq", "depot"}}, []index.Event{e6, e3, e2, e1}},
		{"SitesEmptyDeniesAll", index.EventFilter{Sites: []string{}}, nil},
		{"SitesUnknown", index.EventFilter{Sites: []string{"nowhere"}}, nil},
		{"SitesAndSite", index.EventFilter{Sites: []string{"hq"}, Site: "depot"}, nil},
		{"SitesAndType", index.EventFilter{Sites: []string{"hq", "depot"}, Type: "motion"}, []index.Event{e2, e1}},
		{"NoMatch", index.EventFilter{Type: "nope"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eventIDs(listAll(t, idx, tt.f))
			if want := eventIDs(tt.want); !slices.Equal(got, want) {
				t.Errorf("ListEvents(%+v) = %v, want %v", tt.f, got, want)
			}
		})
	}
}

// paginationEvents adds n events over two cameras, three per start time so
// that ties on Start must be broken by id, and returns them newest first.
func paginationEvents(t *testing.T, idx index.Index, n int) []index.Event {
	t.Helper()
	evs := make([]index.Event, 0, n)
	for i := range n {
		e := index.Event{Camera: fmt.Sprintf("c%d", i%2), Type: "motion", Start: at(time.Duration(i/3) * time.Second)}
		evs = append(evs, addEvent(t, idx, e))
	}
	slices.Reverse(evs)
	return evs
}

// walk lists every page of f with limit and returns the ids in order.
func walk(t *testing.T, idx index.Index, f index.EventFilter, limit int, between func()) []int64 {
	t.Helper()
	f.Limit = limit
	var got []int64
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
		page, err := idx.ListEvents(ctxT(t), f)
		ok(t, err, "list events")
		if len(page.Events) > max(limit, 0) && limit > 0 {
			t.Fatalf("page of %d events, limit %d", len(page.Events), limit)
		}
		got = append(got, eventIDs(page.Events)...)
		if page.Next == "" {
			return got
		}
		if len(page.Events) == 0 {
			t.Fatal("empty page with a next cursor")
		}
		f.Cursor = page.Next
		if between != nil {
			between()
		}
	}
}

func testEventPagination(t *testing.T, open Opener) {
	idx := open(t)
	all := paginationEvents(t, idx, 1001)
	var c1 []int64
	for _, e := range all {
		if e.Camera == "c1" {
			c1 = append(c1, e.ID)
		}
	}
	tests := []struct {
		name  string
		f     index.EventFilter
		limit int
		want  []int64
	}{
		{"Limit1Camera", index.EventFilter{Camera: "c1"}, 1, c1},
		{"Limit7", index.EventFilter{}, 7, eventIDs(all)},
		{"Limit100", index.EventFilter{}, 100, eventIDs(all)},
		{"Limit1000", index.EventFilter{}, 1000, eventIDs(all)},
		{"FromTo", index.EventFilter{From: at(10 * time.Second), To: at(20 * time.Second)}, 4,
			eventIDs(all[len(all)-60 : len(all)-30])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := walk(t, idx, tt.f, tt.limit, nil)
			if !slices.Equal(got, tt.want) {
				t.Errorf("walk got %d ids, want %d (first %v)", len(got), len(tt.want), got[:min(len(got), 5)])
			}
		})
	}
	t.Run("DefaultAndCap", func(t *testing.T) {
		for limit, want := range map[int]int{0: 100, -5: 100, 5000: 1000, 1000: 1000} {
			page, err := idx.ListEvents(ctxT(t), index.EventFilter{Limit: limit})
			ok(t, err, "list events")
			if len(page.Events) != want || page.Next == "" {
				t.Errorf("limit %d: %d events (next %q), want %d and a next page", limit, len(page.Events), page.Next, want)
			}
		}
	})
	t.Run("StableUnderInserts", func(t *testing.T) {
		// New events arriving while a client pages must not shift pages.
		f := index.EventFilter{Camera: "c0", To: at(time.Hour)}
		var want []int64
		for _, e := range all {
			if e.Camera == "c0" {
				want = append(want, e.ID)
			}
		}
		between := func() {
			addEvent(t, idx, index.Event{Camera: "c0", Type: "motion", Start: at(30 * time.Minute)})
		}
		if got := walk(t, idx, f, 50, between); !slices.Equal(got, want) {
			t.Errorf("walk under inserts got %d ids, want %d", len(got), len(want))
		}
	})
}
