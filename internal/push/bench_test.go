package push

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/tlsconf"
)

// countConn counts the Writes (write(2) calls) on a connection.
type countConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCamerasTLS paces 20 cameras' frames in real time (25 fps, one
// 1080p 4 Mbit/s frame of 15 RTP packets each) over TLS on loopback, as a
// gateway pushes them, directly or coalesced; one op is one frame of every
// camera (40 ms). It reports the process CPU time (both ends) and write(2)
// calls per frame.
func BenchmarkCamerasTLS(b *testing.B) {
	const cameras, packets, packetSize, interval = 20, 15, 1404, 40 * time.Millisecond
	frame := packets * packetSize
	cert, err := tlsconf.Load(tlsconf.Options{Dir: filepath.Join(b.TempDir(), "tls")})
	if err != nil {
		b.Fatal(err)
	}
	for _, coalesce := range []bool{false, true} {
		name := map[bool]string{false: "direct", true: "coalesced"}[coalesce]
		b.Run(name, func(b *testing.B) {
			lc := net.ListenConfig{}
			ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			var servers sync.WaitGroup
			servers.Go(func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					servers.Go(func() {
						defer c.Close()
						_, _ = io.Copy(io.Discard, tls.Server(c, cert.Config()))
					})
				}
			})
			var writes atomic.Int64
			conns := make([]net.Conn, cameras)
			counted := make([]*countConn, cameras)
			for i := range conns {
				d := net.Dialer{}
				raw, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				counted[i] = &countConn{Conn: raw}
				tc := tls.Client(counted[i], &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // loopback benchmark
				if err := tc.Handshake(); err != nil {
					b.Fatal(err)
				}
				conns[i] = tc
				if coalesce {
					conns[i] = newCoalescer(tc, coalesceDelay, coalesceBytes)
				}
			}
			for _, c := range counted {
				c.writes.Store(0)
			}
			cpu0 := cpuTime(b)
			b.ResetTimer()
			var cams sync.WaitGroup
			for i, conn := range conns {
				cams.Go(func() {
					pkt := make([]byte, packetSize)
					pkt[0] = '$'
					time.Sleep(interval * time.Duration(i) / cameras) // spread
					t := time.NewTicker(interval)
					defer t.Stop()
					for range b.N {
						for range packets {
							_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
							if _, err := conn.Write(pkt); err != nil {
								b.Error(err)
								return
							}
						}
						<-t.C
					}
				})
			}
			cams.Wait()
			b.StopTimer()
			for _, c := range counted {
				writes.Add(c.writes.Load())
			}
			frames := float64(b.N * cameras)
			b.ReportMetric(float64(writes.Load())/frames, "writes/frame")
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(time.Microsecond)/frames, "cpu-µs/frame")
			b.SetBytes(int64(frame * cameras))
			for _, c := range conns {
				_ = c.Close()
			}
			_ = ln.Close()
			servers.Wait()
		})
	}
}
