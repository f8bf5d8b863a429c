package audit

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestChainVerifiesAndLists(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.record("ann", 0, 10)
	f.record("bob", 10, 5)
	f.sync()
	rep := f.verify()
	if !rep.OK || rep.Records != 15 || rep.FirstBad != nil || rep.Reason != "" {
		t.Fatalf("report %+v", rep)
	}
	all := f.all()
	if len(all) != 15 {
		t.Fatalf("%d records", len(all))
	}
	for i, r := range all {
		if r.Seq != int64(i+1) || r.Reason != fmt.Sprintf("case %d", i) {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	if all[0].PrevHash != genesisHex || all[1].PrevHash != all[0].Hash {
		t.Fatalf("chain links: %q %q %q", all[0].PrevHash, all[1].PrevHash, all[0].Hash)
	}
	var d map[string]int
	if err := json.Unmarshal(all[3].Detail, &d); err != nil || d["i"] != 3 {
		t.Fatalf("detail %s: %v", all[3].Detail, err)
	}
	if all[2].From != "2023-11-14T22:13:22.000000000Z" {
		t.Fatalf("from %q", all[2].From)
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.record("ann", 0, 6)
	f.record("bob", 6, 6)
	f.sync()
	mid := f.all()[4].Time
	midT, err := time.Parse(TimeLayout, mid)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		f    Filter
		want []int64
	}{
		{"user", Filter{User: "bob"}, []int64{12, 11, 10, 9, 8, 7}},
		{"camera", Filter{Camera: "cam-0"}, []int64{10, 7, 4, 1}},
		{"user and camera", Filter{User: "ann", Camera: "cam-1"}, []int64{5, 2}},
		{"action", Filter{Action: ActionLogin}, nil},
		{"limit", Filter{Limit: 3}, []int64{12, 11, 10}},
		{"cursor", Filter{Limit: 3, Cursor: "10"}, []int64{9, 8, 7}},
		{"to", Filter{To: midT}, []int64{4, 3, 2, 1}},
		{"from", Filter{From: midT, User: "ann"}, []int64{6, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := f.log.List(f.ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range p.Records {
				got = append(got, r.Seq)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	for _, bad := range []Filter{{Cursor: "x"}, {Cursor: "-1"}, {Limit: MaxLimit + 1}, {Limit: -1}} {
		if _, err := f.log.List(f.ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
	p, _ := f.log.List(f.ctx, Filter{Limit: 3})
	if p.Next != "10" {
		t.Fatalf("next %q", p.Next)
	}
	p, _ = f.log.List(f.ctx, Filter{Cursor: "4"})
	if p.Next != "" || len(p.Records) != 3 {
		t.Fatalf("last page %+v", p)
	}
}

// tamperFixture leaves a stopped log of 10 records with signed heads at
// 5 (first commit) and 10 (shutdown), and the append-only triggers
// dropped, as an attacker with write access to the file would.
func tamperFixture(t *testing.T) *fixture {
	f := newFixture(t, Options{FlushInterval: time.Hour}) // commits on Sync only
	f.record("ann", 0, 5)
	f.sync()
	f.record("ann", 5, 5)
	f.sync()
	f.stop()
	if rep := f.verify(); !rep.OK || rep.Records != 10 || rep.Signed != 10 {
		t.Fatalf("before tampering: %+v", rep)
	}
	var heads []int64
	rows, err := f.db.Query(`SELECT seq FROM audit_heads ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s int64
		_ = rows.Scan(&s)
		heads = append(heads, s)
	}
	rows.Close()
	if fmt.Sprint(heads) != "[5 10]" {
		t.Fatalf("heads %v", heads)
	}
	f.exec(`DROP TRIGGER audit_log_no_update`)
	f.exec(`DROP TRIGGER audit_log_no_delete`)
	return f
}

// forge inserts a record with a correctly computed hash after prev.
func forge(f *fixture, seq int64, prev string, reason string) string {
	p, err := parseHash(prev)
	if err != nil {
		f.t.Fatal(err)
	}
	r := toRecord(seq, Entry{Time: time.Now(), User: "mallory", Role: "admin", Action: ActionLogin, Reason: reason})
	r.PrevHash = prev
	h := computeHash(p, &r)
	r.Hash = hex.EncodeToString(h[:])
	f.exec(`INSERT INTO audit_log VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, r.Seq, r.Time, r.User, r.Role, r.Action,
		r.Camera, r.Site, r.From, r.To, r.Reason, r.Remote, string(r.Detail), r.PrevHash, r.Hash)
	return r.Hash
}

func hashOf(f *fixture, seq int64) string {
	var h string
	if err := f.db.QueryRow(`SELECT hash FROM audit_log WHERE seq = ?`, seq).Scan(&h); err != nil {
		f.t.Fatal(err)
	}
	return h
}

func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper func(f *fixture)
		bad    int64
	}{
		{"update reason", func(f *fixture) { f.exec(`UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3`) }, 3},
		{"update user of signed head record", func(f *fixture) { f.exec(`UPDATE audit_log SET username = 'x' WHERE seq = 5`) }, 5},
		{"update time", func(f *fixture) {
			f.exec(`UPDATE audit_log SET time = '2020-01-01T00:00:00.000000000Z' WHERE seq = 7`)
		}, 7},
		{"update detail", func(f *fixture) { f.exec(`UPDATE audit_log SET detail = '{"i":99}' WHERE seq = 8`) }, 8},
		{"delete middle row", func(f *fixture) { f.exec(`DELETE FROM audit_log WHERE seq = 4`) }, 4},
		{"delete first row", func(f *fixture) { f.exec(`DELETE FROM audit_log WHERE seq = 1`) }, 1},
		{"insert forged row with a bogus hash", func(f *fixture) {
			f.exec(`INSERT INTO audit_log SELECT 11, time, 'mallory', role, action, camera, site, from_time, to_time,
				reason, remote, detail, hash, hash FROM audit_log WHERE seq = 10`)
		}, 11},
		{"insert forged row in the middle, later rows renumbered", func(f *fixture) {
			f.exec(`UPDATE audit_log SET seq = seq + 100 WHERE seq >= 6`)
			f.exec(`UPDATE audit_log SET seq = seq - 99 WHERE seq >= 106`)
			forge(f, 6, hashOf(f, 5), "forged")
		}, 7},
		{"insert forged row in the middle, chain recomputed", func(f *fixture) {
			var rows []Record
			for seq := int64(6); seq <= 10; seq++ {
				r, err := scanRecord(f.db.QueryRow(selectRecord+` WHERE seq = ?`, seq))
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, r)
			}
			f.exec(`DELETE FROM audit_log WHERE seq >= 6`)
			prev := forge(f, 6, hashOf(f, 5), "forged")
			for _, r := range rows {
				p, _ := parseHash(prev)
				r.Seq++
				r.PrevHash = prev
				h := computeHash(p, &r)
				r.Hash = hex.EncodeToString(h[:])
				f.exec(`INSERT INTO audit_log VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, r.Seq, r.Time, r.User, r.Role,
					r.Action, r.Camera, r.Site, r.From, r.To, r.Reason, r.Remote, string(r.Detail), r.PrevHash, r.Hash)
				prev = r.Hash
			}
		}, 6},
		{"delete the last rows after a signed head", func(f *fixture) { f.exec(`DELETE FROM audit_log WHERE seq >= 9`) }, 9},
		{"delete every row", func(f *fixture) { f.exec(`DELETE FROM audit_log`) }, 1},
		{"delete the heads", func(f *fixture) { f.exec(`DELETE FROM audit_heads`) }, 1},
		{"forge a head signature", func(f *fixture) {
			f.exec(`UPDATE audit_heads SET signature = zeroblob(64) WHERE seq = 10`)
		}, 10},
		{"move a head back over rewritten rows", func(f *fixture) {
			f.exec(`UPDATE audit_heads SET seq = 9 WHERE seq = 10`)
		}, 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := tamperFixture(t)
			c.tamper(f)
			rep := f.verify()
			if rep.OK || rep.FirstBad == nil || *rep.FirstBad != c.bad || rep.Reason == "" {
				t.Fatalf("report %+v (first_bad %v), want first bad %d", rep, deref(rep.FirstBad), c.bad)
			}
			t.Logf("%s", rep.Reason)
		})
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestAppendOnlyTriggers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.record("ann", 0, 2)
	f.sync()
	for _, q := range []string{`UPDATE audit_log SET reason = '' WHERE seq = 1`, `DELETE FROM audit_log WHERE seq = 2`} {
		if _, err := f.db.Exec(q); err == nil {
			t.Errorf("%s: allowed", q)
		}
	}
	if rep := f.verify(); !rep.OK {
		t.Fatalf("%+v", rep)
	}
}

func TestConcurrentRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{FlushInterval: 2 * time.Millisecond, BatchSize: 64, Buffer: 32})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if err := f.log.Record(f.ctx, Entry{User: fmt.Sprintf("u%d", g), Action: ActionSearch, Reason: fmt.Sprint(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rep, err := f.log.Verify(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Records != 1600 {
		t.Fatalf("%+v", rep)
	}
	// Each goroutine's own records keep their order.
	last := map[string]int{}
	for _, r := range f.all() {
		var i int
		fmt.Sscan(r.Reason, &i)
		if prev, ok := last[r.User]; ok && i != prev+1 {
			t.Fatalf("%s: %d after %d", r.User, i, prev)
		}
		last[r.User] = i
	}
}

func TestReopenContinuesChain(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.record("ann", 0, 3)
	f.stop()
	l2, err := NewWithOptions(f.db, f.signer, nil, Options{FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.log = l2
	f.start()
	f.record("ann", 3, 3)
	f.stop()
	rep := f.verify()
	if !rep.OK || rep.Records != 6 || rep.Signed != 6 {
		t.Fatalf("%+v", rep)
	}
}

func TestPeriodicHead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{HeadInterval: 50 * time.Millisecond})
	f.record("ann", 0, 1)
	f.sync()
	f.record("ann", 1, 2)
	deadline := time.Now().Add(5 * time.Second)
	for f.verify().Signed != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("head not signed: %+v", f.verify())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRecordAfterCloseAndFullQueue(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.stop()
	if err := f.log.Record(f.ctx, Entry{Action: ActionLogin}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if rep, err := f.log.Verify(f.ctx); err != nil || !rep.OK {
		t.Fatalf("verify after close: %+v %v", rep, err)
	}
	// Without Run, a full queue makes Record wait until its context ends.
	l, err := NewWithOptions(f.db, f.signer, nil, Options{Buffer: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(f.ctx, Entry{Action: ActionLogin}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 50*time.Millisecond)
	defer cancel()
	if err := l.Record(ctx, Entry{Action: ActionLogin}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("full queue: %v", err)
	}
}

func TestLivePresence(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	f := newFixture(t, Options{LiveIdle: 80 * time.Millisecond, Now: clock})
	seen := func(u, cam string) {
		if err := f.log.LiveSeen(f.ctx, Entry{User: u, Role: "viewer", Camera: cam, Site: "north", Remote: "::1"}); err != nil {
			t.Fatal(err)
		}
	}
	waitWatching := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for f.log.Watching() != n {
			if time.Now().After(deadline) {
				t.Fatalf("watching %d, want %d", f.log.Watching(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	seen("ann", "gate")
	seen("bob", "gate")
	seen("ann", "gate")
	advance(50 * time.Millisecond)
	seen("ann", "gate") // ann keeps watching, bob stops
	waitWatching(2)
	advance(50 * time.Millisecond)
	waitWatching(1)
	f.stop()
	var got []string
	for _, r := range f.all() {
		got = append(got, r.Action+":"+r.User+":"+r.Camera+":"+string(r.Detail))
	}
	want := `[live_start:ann:gate:{"via":"hls"} live_start:bob:gate:{"via":"hls"} ` +
		`live_stop:bob:gate:{"ended":"idle","last_request":"2025-06-01T12:00:00.000000000Z","via":"hls"} ` +
		`live_stop:ann:gate:{"ended":"shutdown","last_request":"2025-06-01T12:00:00.050000000Z","via":"hls"}]`
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v\nwant %s", got, want)
	}
	if rep := f.verify(); !rep.OK {
		t.Fatalf("%+v", rep)
	}
}

func TestVerifyDir(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.record("ann", 0, 4)
	f.stop()
	der, err := x509.MarshalPKIXPublicKey(f.signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	pemPath := filepath.Join(f.dir, "keys", "hub_ed25519.pub.pem")
	if err := os.WriteFile(pemPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := VerifyDir(f.ctx, f.dir)
	if err != nil || !rep.OK || rep.Records != 4 {
		t.Fatalf("%+v %v", rep, err)
	}
	f.exec(`DROP TRIGGER audit_log_no_update`)
	f.exec(`UPDATE audit_log SET remote = '1.2.3.4' WHERE seq = 2`)
	rep, err = VerifyDir(f.ctx, f.dir)
	if err != nil || rep.OK || deref(rep.FirstBad) != int64(2) {
		t.Fatalf("%+v %v", rep, err)
	}
	// Another key: every head fails.
	other := testSigner(t)
	der, _ = x509.MarshalPKIXPublicKey(other.Public())
	_ = os.WriteFile(pemPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	if rep, err = VerifyDir(f.ctx, f.dir); err != nil || rep.OK {
		t.Fatalf("wrong key: %+v %v", rep, err)
	}
	for name, content := range map[string]string{"garbage": "not pem", "wrong type": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		_ = os.WriteFile(pemPath, []byte(content), 0o600)
		if _, err := VerifyDir(f.ctx, f.dir); err == nil {
			t.Errorf("%s key: no error", name)
		}
	}
	if _, err := VerifyDir(f.ctx, t.TempDir()); err == nil {
		t.Error("empty dir: no error")
	}
}
