// Package playback serves recorded footage straight from the recordings
// index and the stored segment files, without remuxing samples.
//
// # Routes
//
//   - GET /api/v1/cameras/{id}/playback.m3u8?from=&to= — an HLS VOD
//     playlist (version 7) built from the index alone.
//   - GET /api/v1/cameras/{id}/segments/{seg}[?t0=] — the bytes of one
//     stored segment file ({seg} is the id, ".mp4" optional), with HTTP
//     Range; with t0 its decode times count from t0 (what the playlist
//     points to).
//   - GET /api/v1/cameras/{id}/export?from=&to=&reason= — one MP4 file for
//     the range, with an exact Content-Length and HTTP Range.
//   - GET /api/v1/exports — the caller's running exports and their progress.
//
// # Playlist layout
//
// Every stored segment file becomes one run of HLS media segments, one per
// stored fragment (moof+mdat, about 1 s):
//
//	#EXT-X-DISCONTINUITY                       (only after a gap)
//	#EXT-X-MAP:URI="segments/42.mp4?t0=T",BYTERANGE="<init size>@0"
//	#EXT-X-PROGRAM-DATE-TIME:<wall time of the run's first fragment>
//	#EXTINF:<next fragment start - this start>,
//	#EXT-X-BYTERANGE:<fragment length>@<fragment offset>
//	segments/42.mp4?t0=T
//	...
//
// Stored files each start at decode time (tfdt) 0. Played as they are,
// the timestamps would restart at every file boundary, which HLS only
// allows after EXT-X-DISCONTINUITY, and ffmpeg's HLS reader then drops the
// first fragment of every file (time goes backwards). So the media URIs
// carry t0, the wall time of the playlist's first fragment, and the
// segment route patches each moof's tfdt in place (same size, samples
// untouched) to count from t0: the files of one recording session form
// one continuous timeline, and EXT-X-DISCONTINUITY appears only where the
// next file does not start within 1.5 s of the previous end (a gap, a
// clock step) or has another codec list or init size. A gap keeps its
// length in the media timestamps; it does not appear in the playlist, and
// the program date times say where footage resumes. The playlist starts
// at the keyframe fragment at or before from and ends with the fragment
// that contains to; open segments contribute only their durable fragments.
// It is built from the index alone: no file is opened.
//
// # Export layout
//
// An export is a fragmented MP4: the init block (ftyp+moov) of the first
// segment, then every selected fragment's moof+mdat copied from the stored
// files, each moof patched in place (same size): the mfhd sequence number
// counts 1, 2, 3... across the export and each traf's tfdt becomes
// (segment start + decode time in the file - export start) in the track's
// timescale, so the timeline follows wall time from 0 and a gap in the
// recordings stays a jump in time. Only segments whose init block is
// byte-identical to the first one's are joined; the export ends before the
// first one that differs (a camera changed resolution or codec), and the
// response header Vigil-Export-End says where it ended (Vigil-Export-Start
// says where it started: the keyframe at or before from).
//
// The layout (the size of every piece) is computed before the first byte is
// sent, from the index and the small init blocks, so the response has an
// exact Content-Length and serves Range requests. The body is an
// io.ReadSeeker over the pieces: only the current fragment's moof and the
// copy buffer are in memory, whatever the length of the export.
package playback
