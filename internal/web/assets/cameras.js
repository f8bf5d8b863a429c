// cameras.js: the camera list with live status, refreshed every few
// seconds.

import { request } from './api.js';
import { ago, bitrate } from './format.js';

const refreshEvery = 4000;
const stateText = { online: 'Online', offline: 'Offline', waiting: 'Waiting for push', disabled: 'Disabled' };

/** CameraList renders GET /api/v1/cameras and reports the selection. */
export class CameraList {
  /**
   * @param {object} el elements: list, error, empty, updated.
   * @param {function(object)} onSelect called with the selected camera.
   */
  constructor(el, onSelect) {
    this.el = el;
    this.onSelect = onSelect;
    this.cameras = [];
    this.selected = null;
    this.timer = null;
    this.load = 0;
  }

  start() {
    this.stop();
    this.refresh();
    this.timer = setInterval(() => this.refresh(), refreshEvery);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.load++;
  }

  /** get returns the camera with id, as last listed. */
  get(id) {
    return this.cameras.find((c) => c.id === id) || null;
  }

  async refresh() {
    const load = ++this.load;
    try {
      const data = await request('GET', '/api/v1/cameras');
      if (load !== this.load) return;
      this.cameras = data.cameras || [];
      this.el.error.hidden = true;
      this.el.updated.textContent = `updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
      this.render();
    } catch (err) {
      if (load !== this.load || err.status === 401) return;
      this.el.error.hidden = false;
      this.el.error.textContent = `Cannot list cameras: ${err.message}`;
    }
  }

  render() {
    const { list, empty } = this.el;
    empty.hidden = this.cameras.length > 0;
    const items = this.cameras.map((c) => this.item(c));
    const focused = document.activeElement && document.activeElement.closest('.camera-list button');
    const focusId = focused && focused.dataset.id;
    list.replaceChildren(...items);
    if (focusId) {
      const b = list.querySelector(`button[data-id="${CSS.escape(focusId)}"]`);
      if (b) b.focus();
    }
  }

  item(c) {
    const st = c.status || {};
    const state = st.state || 'offline';
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'camera';
    b.dataset.id = c.id;
    b.dataset.state = state;
    b.setAttribute('aria-current', String(c.id === this.selected));
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = c.name || c.id;
    const badge = document.createElement('span');
    badge.className = `state ${state}`;
    badge.textContent = stateText[state] || state;
    const meta = document.createElement('span');
    meta.className = 'meta';
    const bits = [];
    if (state === 'online') bits.push(`${(st.fps || 0).toFixed(1)} fps`, bitrate(st.bitrate));
    if (st.last_frame) bits.push(`last frame ${ago(st.last_frame)}`);
    if (c.site) bits.push(c.site);
    meta.textContent = bits.join(' · ');
    b.append(name, badge, meta);
    if (st.error) {
      const e = document.createElement('span');
      e.className = 'cam-error';
      e.textContent = st.error;
      b.append(e);
    }
    b.addEventListener('click', () => this.select(c.id));
    li.append(b);
    return li;
  }

  /** select marks camera id as selected and reports it. */
  select(id) {
    this.selected = id;
    for (const b of this.el.list.querySelectorAll('button.camera')) {
      b.setAttribute('aria-current', String(b.dataset.id === id));
    }
    const cam = this.get(id);
    if (cam) this.onSelect(cam);
  }
}
