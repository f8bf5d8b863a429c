// playlist.js: reads an HLS media playlist's timing, to map the player's
// media time to wall-clock time (EXT-X-PROGRAM-DATE-TIME) and back.

/**
 * parsePlaylist returns the playlist's media segments in order:
 * [{start, duration, wall}], start and duration in seconds of media time,
 * wall in ms since the epoch (NaN when the playlist has no date).
 */
export function parsePlaylist(text) {
  const out = [];
  let pos = 0;
  let wall = NaN;
  let dur = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      wall = Date.parse(line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
    } else if (line.startsWith('#EXTINF:')) {
      dur = parseFloat(line.slice('#EXTINF:'.length));
    } else if (line && !line.startsWith('#') && dur != null) {
      out.push({ start: pos, duration: dur, wall });
      pos += dur;
      wall += dur * 1000;
      dur = null;
    }
  }
  return out;
}

/** mediaToWall maps media time t (s) to wall time (ms), or null. */
export function mediaToWall(table, t) {
  if (!table || table.length === 0) return null;
  let seg = table[0];
  for (const s of table) {
    if (s.start > t) break;
    seg = s;
  }
  if (Number.isNaN(seg.wall)) return null;
  return seg.wall + (t - seg.start) * 1000;
}

/**
 * wallToMedia maps wall time w (ms) to media time (s): inside the segment
 * that holds it, or the start of the next one after a gap.
 */
export function wallToMedia(table, w) {
  for (const s of table) {
    if (Number.isNaN(s.wall)) return 0;
    if (w < s.wall) return s.start;
    if (w < s.wall + s.duration * 1000) return s.start + (w - s.wall) / 1000;
  }
  return table.length ? table[table.length - 1].start : 0;
}
