package media

import (
	"bytes"
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
