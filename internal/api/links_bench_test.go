package api

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
)

// BenchmarkCheckLink is the cost the media link check adds to a media
// request: with a valid link (one HMAC-SHA256) and without one.
func BenchmarkCheckLink(b *testing.B) {
	s, err := newLinkSigner()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	a := &API{links: s, now: func() time.Time { return now }}
	p := auth.Principal{Username: "op", Role: auth.RoleOperator, Session: "ses-hash"}
	tok := s.sign(p.Session, "gate-1", linkLive, now.Add(LinkTTL))
	for _, bc := range []struct{ name, query string }{{"with link", "?access=" + tok}, {"without", "?_HLS_msn=5"}} {
		r := httptest.NewRequest("GET", "/api/v1/cameras/gate-1/live.m3u8"+bc.query, nil)
		r.Pattern = "GET /api/v1/cameras/{id}/live.m3u8"
		r.SetPathValue("id", "gate-1")
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := a.checkLink(r, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
