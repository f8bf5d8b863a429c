package media

import (
	"bytes"
	"sync"
	"testing"
)

func TestAccessUnitSample(t *testing.T) {
	cases := []struct {
		name string
		au   AccessUnit
		want []byte
	}{
		{"video", AccessUnit{NALUs: [][]byte{{0x67, 1}, {0x65, 2, 3}}}, []byte{0, 0, 0, 2, 0x67, 1, 0, 0, 0, 3, 0x65, 2, 3}},
		{"audio", AccessUnit{Payload: []byte{9, 8, 7}}, []byte{9, 8, 7}},
		{"empty", AccessUnit{}, nil},
		{"big nalu", AccessUnit{NALUs: [][]byte{make([]byte, 70000)}}, append([]byte{0, 1, 0x11, 0x70}, make([]byte, 70000)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.au.AppendAVCC([]byte{0xff})
			if !bytes.Equal(got[1:], c.want) || got[0] != 0xff {
				t.Fatalf("AppendAVCC = %x, want ff%x", got[:min(len(got), 16)], c.want[:min(len(c.want), 16)])
			}
			if c.au.Size() != len(c.want) {
				t.Fatalf("Size = %d, want %d", c.au.Size(), len(c.want))
			}
		})
	}
}

func TestPiecesSameAsWhole(t *testing.T) {
	sps, pps := []byte{0x67, 1, 2}, []byte{0x68, 3}
	idr := bytes.Repeat([]byte{0x65, 9, 8, 7}, 100)
	cases := []struct {
		name  string
		split func(p *NALPieces)
	}{
		{"all whole", func(p *NALPieces) { p.AddWhole(sps); p.AddWhole(pps); p.AddWhole(idr) }},
		{"one NAL unit in pieces", func(p *NALPieces) {
			p.AddWhole(sps)
			p.AddWhole(pps)
			p.AddNAL(idr[:64], [][]byte{idr[64:100], idr[100:]}, len(idr))
		}},
		{"every NAL unit in pieces", func(p *NALPieces) {
			p.AddNAL(sps[:1], [][]byte{sps[1:]}, len(sps))
			p.AddNAL(pps[:1], [][]byte{pps[1:]}, len(pps))
			p.AddNAL(idr[:1], [][]byte{idr[1:2], idr[2:3], idr[3:]}, len(idr))
		}},
		{"a head with no more pieces", func(p *NALPieces) {
			p.AddWhole(sps)
			p.AddNAL(pps, nil, len(pps))
			p.AddNAL(idr, nil, len(idr))
		}},
	}
	whole := &AccessUnit{NALUs: [][]byte{sps, pps, idr}, Key: true}
	wantAVCC := whole.AppendAVCC(nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &NALPieces{}
			c.split(p)
			au := &AccessUnit{Pieces: p, Key: true}
			if got := au.AppendAVCC([]byte{0xff}); !bytes.Equal(got[1:], wantAVCC) || got[0] != 0xff {
				t.Fatal("AppendAVCC differs from the whole unit's")
			}
			if au.Size() != len(wantAVCC) || whole.Size() != len(wantAVCC) {
				t.Fatalf("Size %d and %d, AVCC %d bytes", au.Size(), whole.Size(), len(wantAVCC))
			}
			bufs, prefix := au.AppendSample(nil, make([]byte, 0, 4)) // prefixes outgrow their array
			if got := bytes.Join(bufs, nil); !bytes.Equal(got, wantAVCC) {
				t.Fatal("AppendSample differs from the whole unit's AVCC")
			}
			if len(prefix) == 0 {
				t.Fatal("no prefixes returned")
			}
			var wg sync.WaitGroup
			results := make([][][]byte, 4)
			for i := range results {
				wg.Go(func() { results[i] = au.VideoNALUs() })
			}
			wg.Wait()
			for _, r := range results {
				if len(r) != 3 || !bytes.Equal(r[0], sps) || !bytes.Equal(r[1], pps) || !bytes.Equal(r[2], idr) {
					t.Fatal("VideoNALUs differs from the NAL units")
				}
				if &r[0] != &results[0][0] {
					t.Fatal("VideoNALUs joined more than once")
				}
			}
		})
	}
}
