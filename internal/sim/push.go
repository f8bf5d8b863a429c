package sim

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/auth"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"
)

// PushConfig configures the load generator. Zero values take the defaults.
type PushConfig struct {
	// Target is the hub's RTSP address, rtsp://HOST:PORT. Credentials in
	// it are used when User is empty.
	Target string
	// Cameras is the number of streams. It defaults to 1.
	Cameras int
	// Prefix names the streams' paths: /{Prefix}1 ... /{Prefix}N. It
	// defaults to "cam".
	Prefix string
	// User and Pass authenticate to the hub (Basic or Digest, as offered).
	User, Pass string
	// Clip is the looped clip. It defaults to the embedded clip.
	Clip *Clip
	// Timeout bounds each request and each write. It defaults to 10 s.
	Timeout time.Duration
	// Tick is how often the senders wake up to send the frames that are
	// due: frames leave up to Tick late. Longer ticks cost less CPU (most
	// of the cost is waking up). It defaults to 20 ms.
	Tick time.Duration
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

// PushResult reports what Push did, stream by stream (index i is the
// stream at /{Prefix}{i+1}).
type PushResult struct {
	// Frames sent per stream.
	Frames []uint64
	// Errs holds the error that ended each stream, nil for streams that
	// ran until the context ended.
	Errs []error
}

// Push publishes cfg.Cameras streams to the hub with ANNOUNCE, SETUP (TCP
// interleaved) and RECORD, looping the clip in real time, until ctx ends
// or every stream failed. Each frame goes out in one write; a few sender
// goroutines (one per CPU) pace all the streams, so the generator costs
// little per stream. It returns the per-stream counts and the streams'
// errors joined.
func Push(ctx context.Context, cfg PushConfig) (PushResult, error) {
	p, err := newPusher(cfg)
	if err != nil {
		return PushResult{}, err
	}
	n := p.cameras
	res := PushResult{Frames: make([]uint64, n), Errs: make([]error, n)}
	streams := p.connectAll(ctx, res.Errs)
	var readers sync.WaitGroup
	for _, s := range streams {
		readers.Go(s.c.discardReplies)
	}
	stop := context.AfterFunc(ctx, func() {
		for _, s := range streams {
			_ = s.c.nc.SetDeadline(time.Now())
		}
	})
	p.runShards(ctx, streams)
	stop()
	for _, s := range streams {
		s.c.teardown()
		s.c.nc.Close()
		res.Frames[s.i] = s.frames
		if s.err != nil && ctx.Err() == nil {
			res.Errs[s.i] = fmt.Errorf("push %s: %w", s.c.url.Path, s.err)
		}
	}
	readers.Wait()
	return res, errors.Join(res.Errs...)
}

// connectAll opens and sets up every stream, a few at a time; failures
// are stored in errs.
func (p *pusher) connectAll(ctx context.Context, errs []error) []*pushStream {
	var mu sync.Mutex
	var streams []*pushStream
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range p.cameras {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := p.connect(ctx, i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[i] = err
				return
			}
			streams = append(streams, newPushStream(c, i))
		})
	}
	wg.Wait()
	return streams
}

// connect dials and sets up stream i.
func (p *pusher) connect(ctx context.Context, i int) (*pushConn, error) {
	u := p.streamURL(i)
	d := net.Dialer{Timeout: p.timeout}
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", u.Path, err)
	}
	c := &pushConn{nc: nc, br: bufio.NewReader(nc), p: p, url: u}
	if err := c.handshake(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("push %s: %w", u.Path, err)
	}
	return c, nil
}

// discardReplies reads and drops what the server sends (RTCP, replies)
// until the connection closes.
func (c *pushConn) discardReplies() { _, _ = io.Copy(io.Discard, c.br) }

// pusher holds what the streams share.
type pusher struct {
	target  *base.URL
	cameras int
	prefix  string
	user    string
	pass    string
	timeout time.Duration
	tick    time.Duration
	log     *slog.Logger
	clip    *Clip
	tmpl    []frameTemplate
	pkts    *packetizedClip
	sdp     []byte
}

func newPusher(cfg PushConfig) (*pusher, error) {
	u, err := base.ParseURL(strings.TrimRight(cfg.Target, "/"))
	if err != nil || (u.Scheme != "rtsp") || u.Host == "" {
		return nil, fmt.Errorf("push: invalid target %q", redact(cfg.Target))
	}
	p := &pusher{
		target: u.CloneWithoutCredentials(), cameras: max(cfg.Cameras, 1), prefix: cfg.Prefix,
		user: cfg.User, pass: cfg.Pass, timeout: cfg.Timeout, tick: cfg.Tick, log: cfg.Logger, clip: cfg.Clip,
	}
	if p.user == "" && u.User != nil {
		p.user = u.User.Username()
		p.pass, _ = u.User.Password()
	}
	p.setDefaults()
	if p.clip == nil {
		if p.clip, err = DefaultClip(); err != nil {
			return nil, err
		}
	}
	if p.pkts, err = packetize(p.clip, maxPayload); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	p.tmpl = buildTemplates(p.pkts)
	p.sdp, err = pushSDP(p.clip)
	return p, err
}

func (p *pusher) setDefaults() {
	if p.prefix == "" {
		p.prefix = "cam"
	}
	if p.timeout <= 0 {
		p.timeout = 10 * time.Second
	}
	if p.tick <= 0 {
		p.tick = 20 * time.Millisecond
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
}

func pushSDP(c *Clip) ([]byte, error) {
	desc := description.Session{
		Title: "vigil sim",
		Medias: []*description.Media{{
			Type:    description.MediaTypeVideo,
			Control: "trackID=0",
			Formats: []format.Format{&format.H264{PayloadTyp: payloadType, SPS: c.SPS, PPS: c.PPS, PacketizationMode: 1}},
		}},
	}
	b, err := desc.Marshal()
	if err != nil {
		return nil, fmt.Errorf("push: sdp: %w", err)
	}
	return b, nil
}

// redact removes userinfo from a URL-looking string.
func redact(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.Contains(rest[:at], "/") {
			return s[:i+3] + rest[at+1:]
		}
	}
	return s
}

// frameTemplate is a frame's interleaved RTP packets, ready to copy, with
// the offsets of each RTP header to patch.
type frameTemplate struct {
	pts, dts int64
	wire     []byte
	headers  []int
}

func buildTemplates(p *packetizedClip) []frameTemplate {
	out := make([]frameTemplate, len(p.frames))
	for i, f := range p.frames {
		t := frameTemplate{pts: f.pts, dts: f.dts}
		t.wire = make([]byte, 0, f.size+len(f.payloads)*16)
		for k, pl := range f.payloads {
			t.headers = append(t.headers, len(t.wire)+4)
			t.wire = append(t.wire, '$', 0)
			t.wire = binary.BigEndian.AppendUint16(t.wire, uint16(12+len(pl)))
			b1 := byte(payloadType)
			if k == len(f.payloads)-1 {
				b1 |= 0x80 // marker
			}
			t.wire = append(t.wire, 0x80, b1)
			t.wire = append(t.wire, make([]byte, 10)...) // seq, timestamp, ssrc
			t.wire = append(t.wire, pl...)
		}
		out[i] = t
	}
	return out
}

// streamURL is the path of stream i (0-based).
func (p *pusher) streamURL(i int) *base.URL {
	u := p.target.CloneWithoutCredentials()
	u.Path = "/" + p.prefix + strconv.Itoa(i+1)
	return u
}

// pushConn is one publishing RTSP connection.
type pushConn struct {
	nc      net.Conn
	br      *bufio.Reader
	p       *pusher
	url     *base.URL
	cseq    int
	sender  *auth.Sender
	session string
}

func (c *pushConn) handshake(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Now()) })
	defer stop()
	_, err := c.do(base.Request{
		Method: base.Announce, URL: c.url,
		Header: base.Header{"Content-Type": base.HeaderValue{"application/sdp"}},
		Body:   c.p.sdp,
	})
	if err != nil {
		return err
	}
	setupURL := c.url.CloneWithoutCredentials()
	setupURL.Path += "/trackID=0"
	res, err := c.do(base.Request{
		Method: base.Setup, URL: setupURL,
		Header: base.Header{"Transport": base.HeaderValue{"RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"}},
	})
	if err != nil {
		return err
	}
	var sh headers.Session
	if err := sh.Unmarshal(res.Header["Session"]); err != nil {
		return fmt.Errorf("setup: session header: %w", err)
	}
	c.session = sh.Session
	_, err = c.do(base.Request{Method: base.Record, URL: c.url, Header: base.Header{"Range": base.HeaderValue{"npt=0.000-"}}})
	return err
}

// do sends req and reads the response, answering one authentication
// challenge.
func (c *pushConn) do(req base.Request) (*base.Response, error) {
	res, err := c.roundTrip(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode == base.StatusUnauthorized && c.sender == nil && c.p.user != "" {
		c.sender = &auth.Sender{WWWAuth: res.Header["WWW-Authenticate"], User: c.p.user, Pass: c.p.pass}
		if err := c.sender.Initialize(); err != nil {
			return nil, fmt.Errorf("%s: %w", req.Method, err)
		}
		if res, err = c.roundTrip(req); err != nil {
			return nil, err
		}
	}
	if res.StatusCode != base.StatusOK {
		return nil, fmt.Errorf("%s: %d %s", strings.ToLower(string(req.Method)), res.StatusCode, res.StatusMessage)
	}
	return res, nil
}

func (c *pushConn) roundTrip(req base.Request) (*base.Response, error) {
	c.cseq++
	req.Header = cloneHeader(req.Header)
	req.Header["CSeq"] = base.HeaderValue{strconv.Itoa(c.cseq)}
	req.Header["User-Agent"] = base.HeaderValue{"vigil-sim"}
	if c.session != "" {
		req.Header["Session"] = base.HeaderValue{c.session}
	}
	if c.sender != nil {
		c.sender.AddAuthorization(&req)
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	_ = c.nc.SetDeadline(time.Now().Add(c.p.timeout))
	if _, err := c.nc.Write(b); err != nil {
		return nil, err
	}
	var res base.Response
	if err := res.Unmarshal(c.br); err != nil {
		return nil, fmt.Errorf("%s: read response: %w", strings.ToLower(string(req.Method)), err)
	}
	_ = c.nc.SetDeadline(time.Time{})
	return &res, nil
}

func cloneHeader(h base.Header) base.Header {
	out := make(base.Header, len(h)+4)
	for k, v := range h {
		out[k] = v
	}
	return out
}

// teardown politely ends the session; errors are irrelevant by then.
func (c *pushConn) teardown() {
	c.cseq++
	req := base.Request{Method: base.Teardown, URL: c.url, Header: base.Header{
		"CSeq": base.HeaderValue{strconv.Itoa(c.cseq)}, "Session": base.HeaderValue{c.session},
	}}
	if c.sender != nil {
		c.sender.AddAuthorization(&req)
	}
	if b, err := req.Marshal(); err == nil {
		_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.nc.Write(b)
	}
}
