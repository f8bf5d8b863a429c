package rtspudp

import (
	"net"
	"strconv"
	"testing"

	"github.com/bluenviron/gortsplib/v5"
)

func TestConfigure(t *testing.T) {
	cases := []struct {
		addr    string
		wantErr bool
	}{
		{"127.0.0.1:0", false},
		{"127.0.0.1:8001", true}, // odd RTP port
		{"127.0.0.1:8000", false},
		{"nonsense", true},
	}
	for _, tc := range cases {
		srv := &gortsplib.Server{}
		cleanup, err := Configure(srv, tc.addr)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%s: err %v", tc.addr, err)
		}
		if err != nil {
			continue
		}
		_, rtp, _ := net.SplitHostPort(srv.UDPRTPAddress)
		_, rtcp, _ := net.SplitHostPort(srv.UDPRTCPAddress)
		a, _ := strconv.Atoi(rtp)
		b, _ := strconv.Atoi(rtcp)
		if a%2 != 0 || b != a+1 {
			t.Errorf("%s: ports %d/%d are not an even/odd pair", tc.addr, a, b)
		}
		cleanup()
	}
}
