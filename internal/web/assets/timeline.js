// timeline.js: a camera's recordings over the last hours — recorded spans,
// gaps (pending or lost), time labels and a "now" marker — and picking a
// moment to play.

import { paths, request } from './api.js';
import { clock, shortClock } from './format.js';

const tickSteps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360].map((m) => m * 60 * 1000);
const refreshEvery = 10000;

/** Timeline draws one camera's recordings and reports picked moments. */
export class Timeline {
  /**
   * @param {object} el elements: card, bar, track, cursor, now, ticks, error, zoom (buttons).
   * @param {function(Date, Date|null)} onPick called with the moment to play
   *   and the end of its recorded span.
   */
  constructor(el, onPick) {
    this.el = el;
    this.onPick = onPick;
    this.camera = null;
    this.hours = 1;
    this.data = { spans: [], gaps: [] };
    this.from = 0;
    this.to = 0;
    this.cursor = null; // ms: keyboard position or the moment playing
    this.load = 0;
    this.timer = null;
    el.bar.addEventListener('click', (ev) => this.clicked(ev));
    el.bar.addEventListener('keydown', (ev) => this.key(ev));
    for (const b of el.zoom) {
      b.addEventListener('click', () => this.setZoom(Number(b.dataset.zoom)));
    }
    window.addEventListener('resize', () => this.render());
  }

  /** setCamera shows camera id (null hides the timeline). */
  setCamera(id) {
    this.camera = id;
    this.cursor = null;
    this.data = { spans: [], gaps: [] };
    clearInterval(this.timer);
    this.el.card.hidden = !id;
    if (!id) return;
    this.refresh();
    this.timer = setInterval(() => this.refresh(), refreshEvery);
  }

  /** setZoom shows the last hours. */
  setZoom(hours) {
    this.hours = hours;
    for (const b of this.el.zoom) b.setAttribute('aria-pressed', String(Number(b.dataset.zoom) === hours));
    this.refresh();
  }

  /** refresh loads the recordings of the window ending now. */
  async refresh() {
    if (!this.camera) return;
    const load = ++this.load;
    const camera = this.camera;
    const to = Date.now();
    const from = to - this.hours * 3600 * 1000;
    try {
      const data = await request('GET', paths.recordings(camera, from, to));
      if (load !== this.load || camera !== this.camera) return;
      this.data = {
        spans: data.spans.map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.end) })),
        gaps: data.gaps.map((g) => ({ start: Date.parse(g.start), end: Date.parse(g.end), state: g.state, reason: g.reason || '' })),
      };
      this.from = from;
      // A little room on the right so that "now" is visible.
      this.to = to + (to - from) * 0.015;
      this.now = to;
      this.showError('');
      this.render();
    } catch (err) {
      if (load !== this.load) return;
      this.showError(err.status === 403 ? 'You may not see recordings of this camera.' : `Recordings unavailable: ${err.message}`);
    }
  }

  /** render draws spans, gaps, labels, now and the cursor. */
  render() {
    if (!this.camera || !this.to) return;
    const { track, ticks, bar } = this.el;
    const pct = (t) => `${(((t - this.from) / (this.to - this.from)) * 100).toFixed(3)}%`;
    const width = (a, b) => `${(((b - a) / (this.to - this.from)) * 100).toFixed(3)}%`;
    const parts = [];
    for (const s of this.data.spans) {
      const d = div('span rec', pct(s.start), width(s.start, s.end));
      d.title = `Recorded ${clock(s.start)} – ${clock(s.end)}`;
      parts.push(d);
    }
    for (const g of this.data.gaps) {
      // A lost gap without a reason is time nothing was recorded (before
      // the camera existed, recording off): drawn plain, not as a loss.
      const kind = g.state === 'pending' ? 'pending' : g.reason ? 'lost' : 'none';
      const d = div(`span gap ${kind}`, pct(g.start), width(g.start, g.end));
      const what = { pending: 'Not received yet', lost: 'Footage lost', none: 'No recording' }[kind];
      d.title = `${what} ${clock(g.start)} – ${clock(g.end)}${g.reason ? ` (${g.reason})` : ''}`;
      parts.push(d);
    }
    track.replaceChildren(...parts);
    this.el.now.style.left = pct(this.now);
    bar.dataset.from = new Date(this.from).toISOString();
    bar.dataset.to = new Date(this.to).toISOString();
    bar.dataset.spans = String(this.data.spans.length);
    bar.setAttribute('aria-valuemin', String(this.from));
    bar.setAttribute('aria-valuemax', String(this.to));

    const step = tickSteps.find((s) => (this.to - this.from) / s <= Math.max(3, bar.clientWidth / 90)) || tickSteps.at(-1);
    const labels = [];
    for (let t = Math.ceil(this.from / step) * step; t <= this.to; t += step) {
      const at = (t - this.from) / (this.to - this.from);
      if (at < 0.03 || at > 0.96) continue; // a label cut by the edge helps nobody
      const l = document.createElement('span');
      l.style.left = pct(t);
      l.textContent = shortClock(t);
      labels.push(l);
    }
    ticks.replaceChildren(...labels);
    this.drawCursor();
  }

  /** mark shows the moment being played (null clears it). */
  mark(t) {
    this.cursor = t == null ? null : new Date(t).getTime();
    this.drawCursor();
  }

  drawCursor() {
    const c = this.el.cursor;
    if (this.cursor == null || !this.to || this.cursor < this.from || this.cursor > this.to) {
      c.hidden = true;
      this.el.bar.setAttribute('aria-valuetext', 'No moment selected');
      return;
    }
    c.hidden = false;
    c.style.left = `${(((this.cursor - this.from) / (this.to - this.from)) * 100).toFixed(3)}%`;
    this.el.bar.setAttribute('aria-valuenow', String(this.cursor));
    this.el.bar.setAttribute('aria-valuetext', clock(this.cursor));
  }

  clicked(ev) {
    const r = this.el.bar.getBoundingClientRect();
    if (!this.to || r.width === 0) return;
    const t = this.from + ((ev.clientX - r.left) / r.width) * (this.to - this.from);
    this.pick(t);
  }

  key(ev) {
    if (!this.to) return;
    const stepMs = (this.to - this.from) / 100;
    const cur = this.cursor ?? this.now;
    if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
      ev.preventDefault();
      this.mark(Math.min(this.now, Math.max(this.from, cur + (ev.key === 'ArrowLeft' ? -stepMs : stepMs))));
    } else if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      this.pick(cur);
    }
  }

  /** pick plays from t, moved into the nearest recorded span. */
  pick(t) {
    const spans = this.data.spans;
    if (spans.length === 0) {
      this.showError('Nothing is recorded in this range.');
      return;
    }
    let chosen = null;
    for (const s of spans) {
      if (t < s.start) { chosen = { at: s.start, span: s }; break; }
      if (t < s.end) { chosen = { at: t, span: s }; break; }
    }
    const last = spans.at(-1);
    // The last span of a camera still recording grows past what was
    // loaded: footage exists up to a moment ago.
    const growing = this.now - last.end < 30000;
    if (!chosen) {
      chosen = growing
        ? { at: Math.max(last.start, Math.min(t, Date.now() - 3000)), span: last }
        : { at: Math.max(last.start, last.end - 10000), span: last };
    }
    this.showError('');
    this.mark(chosen.at);
    this.el.bar.dataset.selected = new Date(chosen.at).toISOString();
    this.onPick(new Date(chosen.at), growing && chosen.span === last ? null : new Date(chosen.span.end));
  }

  showError(text) {
    this.el.error.hidden = !text;
    this.el.error.textContent = text;
  }
}

function div(cls, left, width) {
  const d = document.createElement('div');
  d.className = cls;
  d.style.left = left;
  d.style.width = width;
  return d;
}
