// format.js: how times and rates are shown.

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const shortFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
const dateFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });

/** clock formats a time as HH:MM:SS (local), with the day when not today. */
export function clock(d) {
  d = new Date(d);
  const today = new Date();
  const t = timeFmt.format(d);
  return d.toDateString() === today.toDateString() ? t : `${dateFmt.format(d)} ${t}`;
}

/** shortClock formats a time as HH:MM (timeline labels). */
export function shortClock(d) {
  return shortFmt.format(new Date(d));
}

/** ago says how long ago d was ("3 s ago"). */
export function ago(d, now = Date.now()) {
  const s = Math.max(0, Math.round((now - new Date(d).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** bitrate formats bits per second. */
export function bitrate(bps) {
  if (!bps) return '0 kbit/s';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  return `${Math.round(bps / 1e3)} kbit/s`;
}

/** localInput formats d for an <input type=datetime-local step=1>. */
export function localInput(d) {
  d = new Date(d);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** parseLocalInput reads an <input type=datetime-local> value (local time). */
export function parseLocalInput(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}
