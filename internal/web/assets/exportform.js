// exportform.js: exporting a clip as an MP4 download.

import { check, paths } from './api.js';
import { localInput, parseLocalInput } from './format.js';

const maxExport = 24 * 3600 * 1000;

/** ExportForm downloads GET /api/v1/cameras/{id}/export through <a download>. */
export class ExportForm {
  /** @param {object} el elements: form, from, to, reason, error, status, submit. */
  constructor(el) {
    this.el = el;
    this.camera = null;
    el.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
  }

  /** setCamera shows the form for camera id (null hides it). */
  setCamera(id) {
    this.camera = id;
    this.el.form.hidden = !id;
    this.say('', '');
  }

  /** around presets the range to t ± 30 s. */
  around(t) {
    const ms = new Date(t).getTime();
    this.el.from.value = localInput(ms - 30000);
    this.el.to.value = localInput(ms + 30000);
  }

  async submit() {
    const from = parseLocalInput(this.el.from.value);
    const to = parseLocalInput(this.el.to.value);
    const reason = this.el.reason.value.trim();
    if (!from || !to) return this.say('Enter a start and an end time.', '');
    if (to <= from) return this.say('The end must be after the start.', '');
    if (to - from > maxExport) return this.say('Export at most 24 hours at a time.', '');
    if (!reason) {
      this.el.reason.focus();
      return this.say('Say why you export this clip (it is written to the audit trail).', '');
    }
    const url = paths.exportClip(this.camera, from, to, reason);
    this.el.submit.disabled = true;
    this.say('', 'Preparing the export…');
    try {
      const res = await check(url);
      // 405: the hub does not answer HEAD here; let the download tell.
      if (!res.ok && res.status !== 405) {
        let msg = `${res.status} ${res.statusText}`;
        if (res.status === 404) msg = 'No footage is recorded in that range.';
        if (res.status === 403) msg = 'You may not export from this camera.';
        if (res.status === 400) msg = 'The hub refused that range.';
        if (res.status !== 401) this.say(msg, '');
        return;
      }
      const a = document.createElement('a');
      a.href = url;
      a.download = `${this.camera}-${from.toISOString().replace(/[:.]/g, '-')}.mp4`;
      a.hidden = true;
      document.body.append(a);
      a.click();
      a.remove();
      this.say('', 'The download has started.');
    } catch (err) {
      this.say(`Export failed: ${err.message}`, '');
    } finally {
      this.el.submit.disabled = false;
    }
  }

  say(error, status) {
    this.el.error.hidden = !error;
    this.el.error.textContent = error;
    this.el.status.textContent = status;
  }
}
