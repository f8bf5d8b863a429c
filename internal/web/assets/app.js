// app.js: the viewer page — sign in, pick a camera, watch it live, play
// back its recordings from the timeline, export clips.

import { ApiError, onUnauthorized, request } from './api.js';
import { CameraList } from './cameras.js';
import { ExportForm } from './exportform.js';
import { Player } from './player.js';
import { Timeline } from './timeline.js';

const $ = (id) => document.getElementById(id);

const state = { me: null, camera: null };

const player = new Player({
  video: $('video'),
  player: $('player'),
  message: $('player-message'),
  mode: $('mode'),
  time: $('play-time'),
  clockLabel: $('clock-label'),
  backLive: $('back-live'),
  whep: $('whep'),
  snapshot: $('snapshot'),
});

const timeline = new Timeline({
  card: $('timeline-card'),
  bar: $('timeline'),
  track: $('timeline-track'),
  cursor: $('timeline-cursor'),
  now: $('timeline-now'),
  ticks: $('timeline-ticks'),
  error: $('timeline-error'),
  zoom: document.querySelectorAll('[data-zoom]'),
}, (at, end) => {
  exporter.around(at);
  player.playback(state.camera.id, at, end);
});

const exporter = new ExportForm({
  form: $('export-form'),
  from: $('export-from'),
  to: $('export-to'),
  reason: $('export-reason'),
  error: $('export-error'),
  status: $('export-status'),
  submit: $('export-submit'),
});

const cameras = new CameraList({
  list: $('camera-list'),
  error: $('cameras-error'),
  empty: $('cameras-empty'),
  updated: $('cameras-updated'),
}, selectCamera);

// The moment played follows the video: the timeline cursor moves with it.
player.onWall = (t, mode) => {
  if (mode === 'playback') timeline.mark(t);
};
$('back-live').addEventListener('click', () => timeline.mark(null));

function can(perm) {
  return !!state.me && (state.me.permissions || []).includes(perm);
}

function selectCamera(cam) {
  const same = state.camera && state.camera.id === cam.id;
  state.camera = cam;
  $('viewer-title').textContent = cam.name || cam.id;
  if (same) return;
  $('whep').hidden = !can('live');
  if (can('live')) {
    player.live(cam.id);
  } else {
    player.stop();
    player.message('You may not watch live video.', 'warn');
  }
  timeline.setCamera(can('playback') ? cam.id : null);
  exporter.setCamera(can('export') ? cam.id : null);
  exporter.around(Date.now() - 60000);
  const u = new URL(location.href);
  u.hash = `camera=${encodeURIComponent(cam.id)}`;
  history.replaceState(null, '', u);
}

function showLogin(message) {
  state.me = null;
  state.camera = null;
  cameras.stop();
  player.stop();
  timeline.setCamera(null);
  $('app-view').hidden = true;
  $('who').hidden = true;
  $('login-view').hidden = false;
  const err = $('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('login-pass').value = '';
  ($('login-user').value ? $('login-pass') : $('login-user')).focus();
}

async function showApp(me) {
  state.me = me;
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('who').hidden = false;
  $('who-name').textContent = me.username;
  $('who-role').textContent = me.role;
  cameras.start();
  await cameras.refresh();
  const want = new URLSearchParams(location.hash.slice(1)).get('camera');
  const first = (want && cameras.get(want)) || cameras.cameras.find((c) => c.status && c.status.state === 'online');
  if (first) cameras.select(first.id);
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const username = $('login-user').value.trim();
  const password = $('login-pass').value;
  const err = $('login-error');
  if (!username || !password) {
    err.hidden = false;
    err.textContent = 'Enter your username and password.';
    return;
  }
  $('login-submit').disabled = true;
  try {
    const me = await request('POST', '/api/v1/login', { username, password }, { quiet401: true });
    await showApp(me);
  } catch (e) {
    err.hidden = false;
    err.textContent = e.status === 401 ? 'Wrong username or password.'
      : e.status === 429 ? 'Too many failed attempts. Wait a minute and try again.'
      : e.message;
    $('login-pass').select();
  } finally {
    $('login-submit').disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  // Stop everything that calls the API before the session ends.
  state.me = null;
  cameras.stop();
  player.stop();
  timeline.setCamera(null);
  try {
    await request('POST', '/api/v1/logout', undefined, { quiet401: true });
  } catch { /* the session is gone either way */ }
  showLogin('');
});

onUnauthorized(() => {
  if (state.me) showLogin('Your session ended. Sign in again.');
});

async function boot() {
  try {
    showApp(await request('GET', '/api/v1/me', undefined, { quiet401: true }));
  } catch (e) {
    showLogin(e instanceof ApiError && e.status !== 401 ? e.message : '');
  }
}

boot();
