// Unit tests of the viewer's playlist timing (internal/web/assets/playlist.js),
// run by `node --test` (TestPlaylistModule runs them from go test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mediaToWall, parsePlaylist, wallToMedia } from '../../internal/web/assets/playlist.js';

// Two runs of fragments with a 38 s gap between them, as playback.m3u8 writes them.
const playlist = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-TARGETDURATION:2
#EXT-X-MAP:URI="segments/1.mp4?t0=x",BYTERANGE="681@0"
#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:00Z
#EXTINF:1.000000,
#EXT-X-BYTERANGE:100@681
segments/1.mp4?t0=x
#EXTINF:1.000000,
#EXT-X-BYTERANGE:100@781
segments/1.mp4?t0=x
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="segments/2.mp4?t0=x",BYTERANGE="681@0"
#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:40Z
#EXTINF:1.500000,
#EXT-X-BYTERANGE:100@681
segments/2.mp4?t0=x
#EXT-X-ENDLIST
`;
const t = (s) => Date.parse(`2026-01-02T03:04:${s}Z`);

test('parsePlaylist reads every fragment with its media and wall time', () => {
  assert.deepEqual(parsePlaylist(playlist), [
    { start: 0, duration: 1, wall: t('00') },
    { start: 1, duration: 1, wall: t('01') },
    { start: 2, duration: 1.5, wall: t('40') },
  ]);
  assert.deepEqual(parsePlaylist('#EXTM3U\n'), []);
});

test('mediaToWall follows each run, across the gap', () => {
  const table = parsePlaylist(playlist);
  const cases = [[0, t('00')], [0.5, t('00.500')], [1.25, t('01.250')], [2, t('40')], [3, t('41')]];
  for (const [media, wall] of cases) assert.equal(mediaToWall(table, media), wall, `media ${media}`);
  assert.equal(mediaToWall([], 1), null);
});

test('wallToMedia finds the moment, or the footage after a gap', () => {
  const table = parsePlaylist(playlist);
  const cases = [[t('00'), 0], [t('01.500'), 1.5], [t('20'), 2], [t('40.750'), 2.75], [t('03'), 2], [t('59'), 2]];
  for (const [wall, media] of cases) assert.equal(wallToMedia(table, wall), media, `wall ${new Date(wall).toISOString()}`);
});
