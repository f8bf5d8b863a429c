package spool

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/testutil"
)

// TestKill9Child is the process TestKill9 kills: it appends fragments for
// ever and prints each seq once Sync has made it durable.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv("SPOOL_KILL_DIR")
	if dir == "" {
		t.Skip("helper process of TestKill9")
	}
	_, frags := clipFragments(t, 1, t0)
	s, err := Open(dir, Options{Quota: 256 << 20, SegmentBytes: 1 << 20, SyncInterval: 3 * time.Millisecond})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for {
		seq, err := s.Append("cam", frags[0])
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		// The payload and start time depend on cam's seq so the parent
		// can check cam2's bytes whatever seqs cam2 got.
		f := frags[int(seq)%len(frags)]
		f.Start = t0.Add(time.Duration(seq) * time.Second)
		seq2, err := s.Append("cam2", f)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		if seq%4 == 0 {
			if err := s.Sync(); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println("durable", seq, seq2)
		}
		if seq%100 == 0 { // right after a durable line: the parent checks its last 20 seqs
			if err := s.Ack("cam2", seq2-20); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
		}
	}
}

// TestKill9 kills a process that spools at full speed with SIGKILL at
// random moments, three times, and checks after each restart that every
// fragment it was told was durable reads back intact, nothing torn is
// returned, and seqs keep increasing.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	ctx := testutil.Context(t, 60*time.Second)
	_, frags := clipFragments(t, 1, t0)
	dir := t.TempDir()
	var lastDurable uint64
	for round := range 3 {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKill9Child$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SPOOL_KILL_DIR="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var durable, durable2 uint64
		target := 40 + round*37
		for n := 0; n < target && sc.Scan(); {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "durable "); ok {
				a, b, _ := strings.Cut(v, " ")
				durable, _ = strconv.ParseUint(a, 10, 64)
				durable2, _ = strconv.ParseUint(b, 10, 64)
				n++
			} else if strings.HasPrefix(line, "error") {
				t.Fatalf("round %d child: %s", round, line)
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if durable <= lastDurable {
			t.Fatalf("round %d: durable seq %d did not pass %d (seqs must keep increasing)", round, durable, lastDurable)
		}
		lastDurable = durable

		s, err := Open(dir, Options{Quota: 256 << 20})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		p, err := s.Pending("cam2", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		have := map[uint64]bool{}
		for _, e := range p {
			_, gd, err := s.Read("cam2", e.Seq)
			if err != nil || e.Corrupt {
				t.Fatalf("round %d seq %d: %v", round, e.Seq, err)
			}
			idx := int(e.Start.Sub(t0) / time.Second)
			if !bytes.Equal(gd, frags[idx%len(frags)].Data) {
				t.Fatalf("round %d seq %d: wrong bytes", round, e.Seq)
			}
			have[e.Seq] = true
		}
		if st := s.Stats(); st.DroppedTotal != 0 {
			t.Fatalf("round %d: %d fragments dropped; the quota should hold everything", round, st.DroppedTotal)
		}
		for seq := durable2 - 19; seq <= durable2; seq++ {
			if !have[seq] {
				t.Fatalf("round %d: durable seq %d of cam2 lost after kill -9 (pending %d entries)", round, seq, len(p))
			}
		}
		ps, _ := s.Pending("cam", durable-1, 0)
		if len(ps) == 0 || ps[0].Seq != durable {
			t.Fatalf("round %d: cam's durable seq %d missing after kill -9", round, durable)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
