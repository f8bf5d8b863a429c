// player.js: the <video> element and what it shows — live (LL-HLS through
// hls.js, native HLS, or WebRTC via WHEP) or recorded footage from a time.

import { ApiError, notifyUnauthorized, paths, xhrSetup } from './api.js';
import { clock } from './format.js';
import { parsePlaylist, mediaToWall, wallToMedia } from './playlist.js';

const retryDelay = 4000;
const playbackWindow = 3600 * 1000;
// Recorded playback that ends closer than this to now switches to live.
const catchUp = 10000;
// Live video frozen this long while playing, with nothing buffered ahead,
// counts as a stall (see watchLive).
const stallMs = 1000;

/** Player drives the video element for one camera at a time. */
export class Player {
  /**
   * @param {object} el elements: video, message, mode, time, clockLabel,
   *   backLive, whep.
   */
  constructor(el) {
    this.el = el;
    this.session = 0;
    this.hls = null;
    this.pc = null;
    this.whepResource = null;
    this.timer = null;
    this.watchTimer = null; // live stall watchdog
    this.table = null; // playback: media time <-> wall time
    this.camera = null;
    this.mode = '';
    el.video.addEventListener('timeupdate', () => this.showTime());
    el.video.addEventListener('playing', () => this.message(''));
    el.video.addEventListener('waiting', () => {
      if (this.mode) this.message('Buffering…', 'info', 1500);
    });
    el.backLive.addEventListener('click', () => this.camera && this.live(this.camera));
    el.whep.addEventListener('click', () => {
      if (!this.camera) return;
      if (this.mode === 'webrtc') this.live(this.camera);
      else this.webrtc(this.camera);
    });
    el.snapshot.addEventListener('click', () => this.snapshot());
    el.video.addEventListener('ended', () => this.ended());
    this.onWall = null; // called with the wall time shown (Date) or null
  }

  /**
   * ended continues recorded playback past the end of its playlist: with
   * newer footage from where it stopped, or live once it has caught up.
   */
  ended() {
    if (this.mode !== 'playback' || !this.camera) return;
    const w = this.wallTime();
    if (!w || Date.now() - w.getTime() < catchUp) {
      this.live(this.camera);
      this.message('Caught up: back to live.', 'info', 3000);
      return;
    }
    this.playback(this.camera, w, null);
  }

  /** snapshot downloads the picture shown as a JPEG decoded by the hub. */
  async snapshot() {
    if (!this.camera || !this.mode) return;
    const at = this.mode === 'playback' ? this.wallTime() : null;
    const btn = this.el.snapshot;
    btn.disabled = true;
    try {
      const res = await fetch(paths.snapshot(this.camera, at), { headers: { 'X-Requested-With': 'XMLHttpRequest' } });
      if (!res.ok) throw await errorOf(res);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `${this.camera}-${(at || new Date()).toISOString().replace(/[:.]/g, '-')}.jpg`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      if (err.status === 401) return notifyUnauthorized();
      this.message(`Snapshot failed: ${err.message}`, 'error', 5000);
    } finally {
      btn.disabled = false;
    }
  }

  /** stop ends whatever plays and cancels pending work. */
  stop() {
    this.session++;
    clearTimeout(this.timer);
    this.timer = null;
    clearTimeout(this.watchTimer);
    this.watchTimer = null;
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    if (this.pc) {
      // End the WHEP session first (WHEP's teardown), then the connection.
      if (this.whepResource) {
        fetch(this.whepResource, { method: 'DELETE', headers: { 'X-Requested-With': 'XMLHttpRequest' }, keepalive: true }).catch(() => {});
        this.whepResource = null;
      }
      const pc = this.pc;
      this.pc = null;
      setTimeout(() => pc.close(), 500);
    }
    const v = this.el.video;
    v.pause();
    v.removeAttribute('src');
    v.srcObject = null;
    v.load();
    this.table = null;
    this.mode = '';
    this.setMode('');
    this.el.time.textContent = '–';
    this.el.time.removeAttribute('datetime');
    delete this.el.time.dataset.wall;
  }

  /** live plays camera id live over LL-HLS (hls.js, else native HLS). */
  live(id) {
    this.stop();
    this.camera = id;
    const session = this.session;
    this.mode = 'live';
    this.setMode('live');
    this.message('Connecting to the live stream…', 'info');
    const url = paths.live(id);
    const retry = (text) => {
      if (session !== this.session) return;
      this.message(text, 'warn');
      clearTimeout(this.timer);
      this.timer = setTimeout(() => session === this.session && this.live(id), retryDelay);
    };
    this.attach(url, session, {
      lowLatencyMode: true,
      backBufferLength: 30,
      liveDurationInfinity: true,
    }, retry, () => 0);
    if (this.hls) this.watchLive(session, id);
  }

  /**
   * watchLive recovers live playback that froze while the hub kept
   * serving: after a part arrives between two playlist updates, hls.js's
   * LL-HLS loader can stop asking for parts and wait for the whole
   * segment (or longer), so the picture freezes with an empty buffer. When
   * the video has not advanced for stallMs while playing, with nothing
   * buffered ahead, loading restarts at the playhead; if it is still
   * frozen after that, playback jumps to the live edge, and then the
   * player starts over.
   */
  watchLive(session, id) {
    const v = this.el.video;
    const tickMs = 250;
    let prev = -1;
    let frozen = 0;
    let tries = 0;
    const tick = () => {
      if (session !== this.session || !this.hls) return;
      const t = v.currentTime;
      const b = v.buffered;
      const ahead = b.length ? b.end(b.length - 1) - t : 0;
      if (!v.paused && t > 0 && t === prev && ahead < 0.3) {
        frozen += tickMs;
      } else if (t !== prev) {
        frozen = 0;
        tries = 0;
      }
      prev = t;
      if (frozen >= stallMs) {
        frozen = 0;
        tries++;
        console.info(`live: video frozen at ${t.toFixed(2)} s with ${ahead.toFixed(2)} s buffered, recovery ${tries}`);
        if (tries === 1) {
          this.hls.startLoad(t);
        } else if (tries === 2 && this.hls.liveSyncPosition > t) {
          v.currentTime = this.hls.liveSyncPosition;
        } else {
          this.live(id);
          return;
        }
      }
      this.watchTimer = setTimeout(tick, tickMs);
    };
    this.watchTimer = setTimeout(tick, tickMs);
  }

  /** webrtc plays camera id live over WebRTC (WHEP). */
  async webrtc(id) {
    this.stop();
    this.camera = id;
    const session = this.session;
    this.mode = 'webrtc';
    this.setMode('webrtc');
    this.message('Connecting over WebRTC…', 'info');
    try {
      const pc = new RTCPeerConnection();
      this.pc = pc;
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.ontrack = (ev) => {
        if (session !== this.session) return;
        if (!this.el.video.srcObject) this.el.video.srcObject = ev.streams[0] || new MediaStream([ev.track]);
        this.el.video.play().catch(() => {});
      };
      pc.onconnectionstatechange = () => {
        if (session === this.session && ['failed', 'disconnected'].includes(pc.connectionState)) {
          this.message('The WebRTC connection dropped. Switch back to HLS or try again.', 'warn');
        }
      };
      await pc.setLocalDescription(await pc.createOffer());
      await iceGathered(pc, 2000);
      const res = await fetch(paths.whep(id), {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', 'X-Requested-With': 'XMLHttpRequest' },
        body: pc.localDescription.sdp,
      });
      if (session !== this.session) return;
      if (!res.ok) throw await errorOf(res);
      const loc = res.headers.get('Location');
      if (loc) this.whepResource = new URL(loc, location.href).href;
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    } catch (err) {
      if (session !== this.session) return;
      if (err.status === 401) return notifyUnauthorized();
      this.message(`WebRTC failed: ${err.message}`, 'error');
    }
  }

  /**
   * playback plays camera id's recordings from time at (a Date), up to an
   * hour on or until end (a Date: the end of the recorded span).
   */
  async playback(id, at, end) {
    this.stop();
    this.camera = id;
    const session = this.session;
    this.mode = 'playback';
    this.setMode('playback');
    this.message(`Loading footage from ${clock(at)}…`, 'info');
    const to = new Date(Math.min(at.getTime() + playbackWindow, (end || new Date()).getTime()));
    const url = paths.playback(id, at, to);
    try {
      const res = await fetch(url, { headers: { 'X-Requested-With': 'XMLHttpRequest' } });
      if (session !== this.session) return;
      if (!res.ok) throw await errorOf(res);
      this.table = parsePlaylist(await res.text());
    } catch (err) {
      if (session !== this.session) return;
      if (err.status === 401) return notifyUnauthorized();
      const text = err.status === 404 ? `No footage recorded at ${clock(at)}.` : `Playback failed: ${err.message}`;
      this.message(text, 'error');
      return;
    }
    const start = Math.max(0, wallToMedia(this.table, at.getTime()));
    this.attach(url, session, { startPosition: start }, (text) => this.message(text, 'error'), () => start);
    this.watchEnd(session);
  }

  /**
   * watchEnd calls ended() when recorded playback sits at the end of its
   * playlist: players do not always fire 'ended' (a last frame shorter
   * than its fragment's stated duration leaves the video waiting).
   */
  watchEnd(session) {
    const last = this.table[this.table.length - 1];
    const end = last.start + last.duration;
    let prev = -1;
    let still = 0;
    const tick = () => {
      if (session !== this.session) return;
      const v = this.el.video;
      still = !v.paused && v.currentTime === prev ? still + 1 : 0;
      prev = v.currentTime;
      if (still >= 3 && end - v.currentTime < 2.5) {
        this.ended();
        return;
      }
      this.timer = setTimeout(tick, 1000);
    };
    this.timer = setTimeout(tick, 1000);
  }

  /**
   * attach plays url with hls.js (or natively), starting at start().
   * failed(text) is told about fatal errors.
   */
  attach(url, session, config, failed, start) {
    const v = this.el.video;
    const Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      const hls = new Hls({ ...config, xhrSetup, enableWorker: true });
      this.hls = hls;
      hls.on(Hls.Events.ERROR, (_, data) => {
        if (session !== this.session || !data.fatal) return;
        const code = data.response && data.response.code;
        if (code === 401) return notifyUnauthorized();
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
          return;
        }
        failed(code === 404 || code === 503
          ? 'The camera is offline: no live picture. Retrying…'
          : `Playback error (${data.details}). Retrying…`);
      });
      hls.on(Hls.Events.MANIFEST_PARSED, () => v.play().catch(() => {}));
      hls.loadSource(url);
      hls.attachMedia(v);
    } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
      v.src = url;
      v.addEventListener('loadedmetadata', () => {
        if (session !== this.session) return;
        const s = start();
        if (s > 0) v.currentTime = s;
        v.play().catch(() => {});
      }, { once: true });
      v.addEventListener('error', () => session === this.session && failed('The browser cannot play this stream.'), { once: true });
    } else {
      this.message('This browser cannot play HLS video.', 'error');
    }
  }

  /** wallTime returns the wall-clock time of the picture shown, or null. */
  wallTime() {
    const v = this.el.video;
    if (this.hls && this.hls.playingDate && !Number.isNaN(this.hls.playingDate.getTime())) {
      return this.hls.playingDate;
    }
    if (this.mode === 'playback' && this.table) {
      const ms = mediaToWall(this.table, v.currentTime);
      return ms == null ? null : new Date(ms);
    }
    if (typeof v.getStartDate === 'function') {
      const s = v.getStartDate();
      if (s && !Number.isNaN(s.getTime())) return new Date(s.getTime() + v.currentTime * 1000);
    }
    return null;
  }

  showTime() {
    if (!this.mode) return;
    const t = this.wallTime();
    const el = this.el.time;
    if (!t) return;
    el.textContent = clock(t);
    el.dateTime = t.toISOString();
    el.dataset.wall = t.toISOString();
    if (this.onWall) this.onWall(t, this.mode);
  }

  setMode(mode) {
    const badge = this.el.mode;
    const labels = { live: 'LIVE', webrtc: 'LIVE · WebRTC', playback: 'RECORDED' };
    badge.hidden = !mode;
    badge.textContent = labels[mode] || '';
    badge.className = `badge ${mode}`;
    this.el.player.dataset.mode = mode;
    this.el.backLive.hidden = mode !== 'playback';
    this.el.snapshot.hidden = !mode;
    this.el.whep.setAttribute('aria-pressed', String(mode === 'webrtc'));
    this.el.whep.textContent = mode === 'webrtc' ? 'Use HLS' : 'WebRTC';
    this.el.clockLabel.textContent = mode === 'playback' ? 'Recorded footage at' : 'Time shown:';
  }

  /** message shows text over the video ('' hides it); ms > 0 hides it later. */
  message(text, kind = 'info', ms = 0) {
    const m = this.el.message;
    clearTimeout(this.msgTimer);
    m.hidden = !text;
    m.textContent = text;
    m.className = `overlay ${kind}`;
    if (text && ms > 0) this.msgTimer = setTimeout(() => { m.hidden = true; }, ms);
  }
}

/** iceGathered waits for ICE gathering to complete, at most ms. */
function iceGathered(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

/** errorOf turns a failed response into an ApiError with its message. */
async function errorOf(res) {
  let msg = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body && body.error) msg = body.error;
  } catch { /* not JSON */ }
  return new ApiError(res.status, msg);
}
