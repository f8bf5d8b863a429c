package push

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/bluenviron/gortsplib/v5/pkg/ntp"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/repacket"
	"github.com/vigil-video/vigil/internal/stream"
)

// sender moves one session's queued units to the client.
type sender struct {
	p     *pusher
	c     *gortsplib.Client
	outs  []*repacket.Track
	video []bool // per track
	keyed bool   // a video keyframe was sent (or there is no video)
	// reported: the media's first sender report went out (per track)
	reported []bool
	timer    *time.Timer

	// drops already reported, and when
	warnedDrops int64
	warnedAt    time.Time
}

// dropWarnEvery is the shortest interval between two warnings about
// dropped units.
const dropWarnEvery = 30 * time.Second

// run sends until the publisher leaves (nil), the connection fails
// (sctx ends first) or ctx ends.
func (s *sender) run(sctx, ctx context.Context, q *stream.Queue, tracks []media.Track) error {
	s.keyed = !hasVideo(s.video)
	s.warnedDrops = s.p.stats.Dropped.Load()
	for {
		it, err := q.Next(sctx)
		if err != nil {
			return s.ended(ctx)
		}
		s.warnDrops(time.Now())
		switch it.Kind {
		case stream.ItemEnd:
			s.p.log.Info("publisher left; push session ends")
			return nil
		case stream.ItemBegin:
			if !repacket.SameTracks(tracks, it.Tracks) {
				return ErrTracksChanged
			}
			s.keyed = !hasVideo(s.video) // same tracks: carry on from a keyframe
		case stream.ItemUnit:
			if err := s.send(sctx, it.Unit); err != nil {
				if sctx.Err() != nil {
					return s.ended(ctx)
				}
				return err
			}
		}
	}
}

// warnDrops logs the units dropped since the last warning, at most once
// per dropWarnEvery.
func (s *sender) warnDrops(now time.Time) {
	d := s.p.stats.Dropped.Load()
	if d == s.warnedDrops || now.Sub(s.warnedAt) < dropWarnEvery {
		return
	}
	s.p.log.Warn("uplink too slow: units dropped", "dropped", d-s.warnedDrops, "total", d)
	s.warnedDrops, s.warnedAt = d, now
}

// ended returns why the session's context ended: ctx's end, or the
// connection's error.
func (s *sender) ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.c.Wait()
	if err == nil {
		err = errors.New("closed")
	}
	return fmt.Errorf("connection: %w", err)
}

// send packetises au and writes its packets, waiting while gortsplib's
// write queue is full (the stream's queue absorbs and drops meanwhile).
func (s *sender) send(ctx context.Context, au *media.AccessUnit) error {
	if au.Track < 0 || au.Track >= len(s.outs) || s.outs[au.Track] == nil {
		return nil
	}
	video := s.video[au.Track]
	if !s.keyed {
		if !video || !au.Key {
			return nil // start on a keyframe
		}
		s.keyed = true
	}
	out := s.outs[au.Track]
	pkts, err := out.Encode(au)
	if err != nil {
		s.p.log.Debug("unit not packetised", "track", au.Track, "error", err.Error())
		return nil
	}
	wall := au.Wall
	if wall.IsZero() {
		wall = time.Now()
	}
	for _, pkt := range pkts {
		if err := s.write(ctx, out, pkt, wall); err != nil {
			return err
		}
		if !s.reported[au.Track] {
			s.reported[au.Track] = true
			s.report(out, pkt, wall)
		}
	}
	if video {
		s.p.stats.Frames.Add(1)
	}
	s.p.stats.Units.Add(1)
	s.p.stats.Packets.Add(int64(len(pkts)))
	s.p.stats.Bytes.Add(int64(au.Size()))
	return nil
}

func (s *sender) write(ctx context.Context, out *repacket.Track, pkt *rtp.Packet, wall time.Time) error {
	for {
		err := s.c.WritePacketRTPWithNTP(out.Media, pkt, wall)
		if err == nil {
			return nil
		}
		if !errors.As(err, &liberrors.ErrClientWriteQueueFull{}) {
			return fmt.Errorf("write rtp: %w", err)
		}
		if err := s.pause(ctx); err != nil {
			return err
		}
	}
}

// report sends a sender report right after a media's first packet, so
// that the server maps the timestamps to the units' wall time from the
// first unit on (gortsplib's own first report comes from another
// goroutine, after packets queued meanwhile). The server learns the
// media's SSRC from that first packet.
func (s *sender) report(out *repacket.Track, pkt *rtp.Packet, wall time.Time) {
	fs, ok := s.c.Stats().Session.Medias[out.Media].Formats[out.Media.Formats[0]]
	if !ok {
		return
	}
	sr := &rtcp.SenderReport{
		SSRC: fs.LocalSSRC, NTPTime: ntp.Encode(wall), RTPTime: pkt.Timestamp,
		PacketCount: 1, OctetCount: uint32(len(pkt.Payload)), //nolint:gosec // one packet
	}
	if err := s.c.WritePacketRTCP(out.Media, sr); err != nil {
		s.p.log.Debug("first sender report not sent", "error", err.Error())
	}
}

// pause waits queueFullPoll or until ctx ends.
func (s *sender) pause(ctx context.Context) error {
	if s.timer == nil {
		s.timer = time.NewTimer(queueFullPoll)
	} else {
		s.timer.Reset(queueFullPoll)
	}
	select {
	case <-ctx.Done():
		s.timer.Stop()
		return ctx.Err()
	case <-s.timer.C:
		return nil
	}
}

func hasVideo(video []bool) bool {
	for _, v := range video {
		if v {
			return true
		}
	}
	return false
}
