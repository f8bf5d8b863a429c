// Package rtspudp sets up the UDP transport of a gortsplib server on a pair
// of consecutive ports (RTP even, RTCP odd), including a system-chosen
// pair, which gortsplib cannot pick by itself.
package rtspudp

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/bluenviron/gortsplib/v5"
)

// Configure enables gortsplib's UDP transport on addr's RTP port and the
// next one (RTCP); port 0 lets the system pick a free pair. cleanup
// closes the ports the server did not take over.
func Configure(srv *gortsplib.Server, addr string) (cleanup func(), err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("udp address: %w", err)
	}
	if port != "0" {
		p, err := strconv.Atoi(port)
		if err != nil || p%2 != 0 {
			return nil, fmt.Errorf("udp address %q: the rtp port must be even", addr)
		}
		srv.UDPRTPAddress = addr
		srv.UDPRTCPAddress = net.JoinHostPort(host, strconv.Itoa(p+1))
		return func() {}, nil
	}
	rtp, rtcp, err := listenUDPPair(host)
	if err != nil {
		return nil, err
	}
	conns := map[string]net.PacketConn{rtp.LocalAddr().String(): rtp, rtcp.LocalAddr().String(): rtcp}
	srv.UDPRTPAddress, srv.UDPRTCPAddress = rtp.LocalAddr().String(), rtcp.LocalAddr().String()
	srv.ListenPacket = func(network, address string) (net.PacketConn, error) {
		if pc, ok := conns[address]; ok {
			delete(conns, address)
			return pc, nil
		}
		return net.ListenPacket(network, address)
	}
	return func() {
		for _, pc := range conns {
			pc.Close()
		}
	}, nil
}

// listenUDPPair binds an even port and the odd port after it on host.
func listenUDPPair(host string) (*net.UDPConn, *net.UDPConn, error) {
	ip := net.ParseIP(host)
	if ip == nil {
		ip = net.IPv4(127, 0, 0, 1)
	}
	for range 100 {
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return nil, nil, fmt.Errorf("udp: %w", err)
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port == 65534 {
			a.Close()
			continue
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port + 1})
		if err != nil {
			a.Close()
			continue
		}
		return a, b, nil
	}
	return nil, nil, errors.New("udp: no free pair of consecutive ports")
}
