package audit

import (
	"errors"
	"testing"
	"time"
)

// listCases seed FuzzList: filters as a user of GET /api/v1/audit might
// send them, hostile ones included.
var listCases = []struct {
	user, camera, action, cursor string
	limit                        int
	fromUnix                     int64
}{
	{"ann", "", "", "", 0, 0},
	{"", "cam-1", "playback", "3", 2, 0},
	{"", "", "", "9223372036854775807", MaxLimit, 1_700_000_000},
	{"' OR 1=1 --", "cam\x00", "login;DROP TABLE audit_log", "1e3", -1, -1},
	{"", "", "", "-5", MaxLimit + 1, 0},
	{"é", "../../etc/passwd", "%", "0x10", 1, 253402300799},
}

// FuzzList checks that any filter either lists records matching it,
// newest first, or fails with ErrInvalid; never anything else.
func FuzzList(f *testing.F) {
	for _, c := range listCases {
		f.Add(c.user, c.camera, c.action, c.cursor, c.limit, c.fromUnix)
	}
	fx := newFixture(f, Options{})
	fx.record("ann", 0, 6)
	fx.sync()
	f.Fuzz(func(t *testing.T, user, camera, action, cursor string, limit int, fromUnix int64) {
		flt := Filter{User: user, Camera: camera, Action: action, Cursor: cursor, Limit: limit}
		if fromUnix > 0 && fromUnix < 253402300800 {
			flt.From = time.Unix(fromUnix, 0)
		}
		p, err := fx.log.List(fx.ctx, flt)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%+v: %v", flt, err)
			}
			return
		}
		for i, r := range p.Records {
			if (user != "" && r.User != user) || (camera != "" && r.Camera != camera) || (action != "" && r.Action != action) {
				t.Fatalf("%+v: record %+v does not match", flt, r)
			}
			if i > 0 && r.Seq >= p.Records[i-1].Seq {
				t.Fatalf("not newest first: %d after %d", r.Seq, p.Records[i-1].Seq)
			}
		}
	})
}
