package playback

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestBadInput(t *testing.T) {
	e := twoSessions(t)
	s0 := e.f.Sessions[0]
	at := func(d time.Duration) string { return s0.Start.Add(d).Format(time.RFC3339Nano) }
	long := strings.Repeat("x", 501)
	tests := []struct {
		name   string
		camera string
		query  url.Values
		code   int
		msg    string // part of the error message
	}{
		{"from after to", "cam-1", url.Values{"from": {at(10 * time.Second)}, "to": {at(5 * time.Second)}}, 400, "from must be before to"},
		{"from equals to", "cam-1", url.Values{"from": {at(0)}, "to": {at(0)}}, 400, "from must be before to"},
		{"missing from", "cam-1", url.Values{"to": {at(0)}}, 400, "from is required"},
		{"missing to", "cam-1", url.Values{"from": {at(0)}}, 400, "to is required"},
		{"malformed from", "cam-1", url.Values{"from": {"yesterday"}, "to": {at(0)}}, 400, "from: want an RFC 3339 time"},
		{"date only", "cam-1", url.Values{"from": {"2026-01-02"}, "to": {at(0)}}, 400, "from: want an RFC 3339 time"},
		{"no zone", "cam-1", url.Values{"from": {"2026-01-02T03:04:00"}, "to": {at(0)}}, 400, "from: want an RFC 3339 time"},
		{"before 1970", "cam-1", url.Values{"from": {"1969-12-31T00:00:00Z"}, "to": {at(0)}}, 400, "from: want an RFC 3339 time"},
		{"malformed to", "cam-1", url.Values{"from": {at(0)}, "to": {"2026-13-40T99:00:00Z"}}, 400, "to: want an RFC 3339 time"},
		{"huge range", "cam-1", url.Values{"from": {at(0)}, "to": {at(25 * time.Hour)}}, 400, "longer than 24h"},
		{"no footage", "cam-1", url.Values{"from": {at(-time.Hour)}, "to": {at(-time.Minute)}}, 404, "no footage recorded between"},
		{"no footage in the gap", "cam-1", url.Values{"from": {at(26 * time.Second)}, "to": {at(34 * time.Second)}}, 404, "(footage lost there: reconnect)"},
		{"unknown camera", "cam-nope", url.Values{"from": {at(0)}, "to": {at(time.Second)}}, 404, "not found"},
		{"malformed camera id", "CAM..1", url.Values{"from": {at(0)}, "to": {at(time.Second)}}, 400, ""},
	}
	for _, route := range []string{"playback.m3u8", "export"} {
		for _, tt := range tests {
			t.Run(route+"/"+tt.name, func(t *testing.T) {
				q := url.Values{}
				for k, v := range tt.query {
					q[k] = v
				}
				if route == "export" {
					q.Set("reason", "case 7")
				}
				r := e.get(t, "op", "/api/v1/cameras/"+tt.camera+"/"+route+"?"+q.Encode()).must(t, tt.code)
				if msg := r.errorMessage(t); !strings.Contains(msg, tt.msg) {
					t.Fatalf("error %q, want it to say %q", msg, tt.msg)
				}
			})
		}
	}
	ok := url.Values{"from": {at(0)}, "to": {at(5 * time.Second)}}
	for _, tt := range []struct {
		name, reason, msg string
	}{
		{"missing reason", "", "reason is required"},
		{"reason too long", long, "at most 500"},
		{"reason not UTF-8", "\xff\xfe", "UTF-8"},
	} {
		t.Run("export/"+tt.name, func(t *testing.T) {
			q := url.Values{"from": ok["from"], "to": ok["to"]}
			if tt.reason != "" {
				q.Set("reason", tt.reason)
			}
			r := e.get(t, "op", "/api/v1/cameras/cam-1/export?"+q.Encode()).must(t, http.StatusBadRequest)
			if msg := r.errorMessage(t); !strings.Contains(msg, tt.msg) {
				t.Fatalf("error %q, want it to say %q", msg, tt.msg)
			}
		})
	}
	t.Run("export/reason of 500 characters", func(t *testing.T) {
		q := url.Values{"from": ok["from"], "to": ok["to"], "reason": {strings.Repeat("é", 500)}}
		e.get(t, "op", "/api/v1/cameras/cam-1/export?"+q.Encode()).must(t, http.StatusOK)
	})
	t.Run("export/viewer refused", func(t *testing.T) {
		q := url.Values{"from": ok["from"], "to": ok["to"], "reason": {"x"}}
		e.get(t, "view", "/api/v1/cameras/cam-1/export?"+q.Encode()).must(t, http.StatusForbidden).errorMessage(t)
	})
	t.Run("playlist/outside the user's sites", func(t *testing.T) {
		e.get(t, "far", "/api/v1/cameras/cam-1/playback.m3u8?"+ok.Encode()).must(t, http.StatusNotFound).errorMessage(t)
	})
}
