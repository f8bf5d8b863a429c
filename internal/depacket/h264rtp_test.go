package depacket

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
)

// decodePackets turns fuzz input into RTP packets: per packet a control
// byte (bit 0 marker, bit 1 a new timestamp, bit 2 a lost packet before
// it), a length byte and that many payload bytes.
func decodePackets(b []byte) []*rtp.Packet {
	var pkts []*rtp.Packet
	seq, ts := uint16(65530), uint32(1000) // the sequence number wraps
	for len(b) >= 2 {
		ctl, n := b[0], int(b[1])
		b = b[2:]
		n = min(n, len(b))
		if ctl&2 != 0 {
			ts += 3600
		}
		if ctl&4 != 0 {
			seq++
		}
		pkts = append(pkts, &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 96, Marker: ctl&1 != 0, SequenceNumber: seq, Timestamp: ts},
			Payload: bytes.Clone(b[:n]),
		})
		seq++
		b = b[n:]
	}
	return pkts
}

func encodePackets(pkts []*rtp.Packet) []byte {
	var out []byte
	var lastTS uint32
	var lastSeq uint16
	for i, p := range pkts {
		var ctl byte
		if p.Marker {
			ctl |= 1
		}
		if i > 0 && p.Timestamp != lastTS {
			ctl |= 2
		}
		if i > 0 && p.SequenceNumber != lastSeq+1 {
			ctl |= 4
		}
		lastTS, lastSeq = p.Timestamp, p.SequenceNumber
		out = append(out, ctl, byte(len(p.Payload)))
		out = append(out, p.Payload...)
	}
	return out
}

// diffDecoders feeds the same packets to h264Decoder and to gortsplib's
// rtph264.Decoder and fails where they disagree: on whether a packet
// completes a unit, on the benign errors, or on the NAL units' bytes.
func diffDecoders(t *testing.T, pkts []*rtp.Packet) (units, pieced int) {
	t.Helper()
	ref := &rtph264.Decoder{PacketizationMode: 1}
	if err := ref.Init(); err != nil {
		t.Fatal(err)
	}
	ours := &h264Decoder{}
	for i, p := range pkts {
		want, werr := ref.Decode(&rtp.Packet{Header: p.Header, Payload: bytes.Clone(p.Payload)})
		got, gerr := ours.Decode(p)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("packet %d: gortsplib: %v, ours: %v", i, werr, gerr)
		}
		for _, sentinel := range []error{rtph264.ErrMorePacketsNeeded, rtph264.ErrNonStartingPacketAndNoPrevious} {
			if errors.Is(werr, sentinel) != errors.Is(gerr, sentinel) {
				t.Fatalf("packet %d: gortsplib: %v, ours: %v", i, werr, gerr)
			}
		}
		if werr != nil {
			continue
		}
		if len(got) != len(want) {
			t.Fatalf("packet %d: %d NAL units, gortsplib %d", i, len(got), len(want))
		}
		units++
		for k := range got {
			if got[k].rest != nil {
				pieced++
			}
			if got[k].size != len(want[k]) || !bytes.Equal(got[k].whole(), want[k]) {
				t.Fatalf("packet %d NAL unit %d: %s, gortsplib %d bytes", i, k, describeNAL(got[k]), len(want[k]))
			}
			if n := min(headBytes, got[k].size); got[k].rest != nil && len(got[k].head) < n {
				t.Fatalf("packet %d NAL unit %d: head of %d bytes, want %d", i, k, len(got[k].head), n)
			}
		}
	}
	return units, pieced
}

func describeNAL(n nalUnit) string {
	return fmt.Sprintf("%d bytes (head %d, %d more pieces)", n.size, len(n.head), len(n.rest))
}

// h264Seeds are packet sequences that cover each path of the decoder.
func h264Seeds(t testing.TB) [][]*rtp.Packet {
	fx := loadFixture(t, "testdata/h264_bframes.mp4")
	var seeds [][]*rtp.Packet
	for _, size := range []int{60, 200} {
		enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1, PayloadMaxSize: size}
		if err := enc.Init(); err != nil {
			t.Fatal(err)
		}
		var pkts []*rtp.Packet
		for i, f := range fx.frames[:4] {
			nalus := f.nalus
			if i == 0 {
				nalus = append([][]byte{fx.sps, fx.pps}, nalus...)
			}
			ps, err := enc.Encode(nalus)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				p.Timestamp = uint32(3600 * i)
				if len(pkts) < 80 {
					pkts = append(pkts, p)
				}
			}
		}
		seeds = append(seeds, pkts)
	}
	pkt := func(marker bool, ts uint32, payload ...byte) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{Marker: marker, Timestamp: ts}, Payload: payload}
	}
	fu := func(start, end bool, typ byte, data ...byte) []byte {
		h := typ
		if start {
			h |= 0x80
		}
		if end {
			h |= 0x40
		}
		return append([]byte{0x7c, h}, data...)
	}
	seeds = append(seeds,
		// a start code inside a fragmented NAL unit, and across fragments
		[]*rtp.Packet{
			pkt(false, 0, fu(true, false, 5, 1, 2, 0, 0)...),
			pkt(true, 0, fu(false, true, 5, 1, 9, 9)...),
			pkt(true, 3600, fu(true, true, 1, 7, 0, 0, 1, 8)...),
		},
		// a non-starting fragment first, then a lost middle fragment
		[]*rtp.Packet{
			pkt(true, 0, fu(false, true, 1, 1, 2)...),
			pkt(false, 3600, fu(true, false, 1, 1, 2)...),
			pkt(true, 3600, fu(false, true, 1, 3, 4)...),
		},
		// STAP-A with padding, then units without markers
		[]*rtp.Packet{
			pkt(false, 0, 24, 0, 2, 0x67, 1, 0, 2, 0x68, 2, 0, 0, 0),
			pkt(false, 0, 0x65, 1, 2, 3),
			pkt(false, 3600, 0x41, 4, 5),
			pkt(true, 7200, 0x41, 6),
		},
		// a sender that wraps NAL units in Annex-B
		[]*rtp.Packet{
			pkt(true, 0, 0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2),
			pkt(true, 3600, fu(true, true, 5, 9, 9)...),
			pkt(true, 7200, 0x41, 1, 2),
		},
		// unsupported and short packets
		[]*rtp.Packet{pkt(true, 0, 25, 1), pkt(true, 0, 28), pkt(true, 0), pkt(true, 0, 0x41)},
	)
	for _, s := range seeds {
		for i, p := range s {
			p.Version, p.PayloadType = 2, 96
			if i > 0 && p.SequenceNumber == 0 {
				p.SequenceNumber = s[i-1].SequenceNumber + 1
			}
		}
	}
	seeds[len(seeds)-4][2].SequenceNumber++ // the lost fragment
	return seeds
}

func TestH264DecoderMatchesGortsplib(t *testing.T) {
	units, pieced := 0, 0
	for i, s := range h264Seeds(t) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			// through the fuzz encoding, so the seeds are what the fuzz
			// target starts from
			u, p := diffDecoders(t, decodePackets(encodePackets(s)))
			units, pieced = units+u, pieced+p
		})
	}
	if units == 0 || pieced == 0 {
		t.Fatalf("%d units, %d NAL units in pieces: the seeds miss the paths they are for", units, pieced)
	}
}

func TestH264DecoderKeepsNoPacketsOfFinishedUnits(t *testing.T) {
	s := h264Seeds(t)[0]
	d := &h264Decoder{}
	for _, p := range s {
		_, _ = d.Decode(p)
	}
	_, _ = d.Decode(&rtp.Packet{Header: rtp.Header{Marker: true, Timestamp: 1 << 20}, Payload: []byte{0x41, 1}})
	_, _ = d.Decode(&rtp.Packet{Header: rtp.Header{Marker: true, Timestamp: 1 << 21}, Payload: []byte{0x41, 2}})
	for _, a := range []*h264AU{&d.cur, &d.out} {
		for _, b := range a.bufs[:cap(a.bufs)] {
			if b != nil {
				t.Fatal("a finished unit's pieces are still referenced")
			}
		}
	}
}

func FuzzH264Decoder(f *testing.F) {
	for _, s := range h264Seeds(f) {
		f.Add(encodePackets(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		diffDecoders(t, decodePackets(b))
	})
}
