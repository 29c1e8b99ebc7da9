// timebar.js - the time range of a view: the last 1, 5, 15 or 60 minutes
// (live), an absolute range, pause and resume, and steps back and forth
// through the data the agent retains.  Shared by the analytics page and
// the dashboards; the range itself lives in the share link (viewstate.js).

import { RANGES, RANGE_MIN, RANGE_MAX, timeWindow, pan } from './viewstate.js';
import { fmtClock } from './units.js';
import { el } from './dom.js';

const LABEL = { 60: '1 min', 300: '5 min', 900: '15 min', 3600: '60 min' };

// "2026-12-06T20:13:05" in local time, for datetime-local inputs.
function localInput(t) {
	const d = new Date(t * 1000);
	const p = n => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
		`${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}


export class TimeBar {
	// opts: {now() -> agent seconds, onChange(time)}
	constructor(root, opts) {
		this.opts = opts;
		this.time = { dur: 60, end: null };
		this.oldest = null;	// the oldest retained second, if known
		root.classList.add('timebar');
		this.seg = el('div', { class: 'seg', role: 'group',
			'aria-label': 'time range' }, ...RANGES.map(r => el('button',
			{ type: 'button', 'data-range': r, text: LABEL[r],
				title: `the last ${LABEL[r]}, live`,
				onclick: () => this.set({ dur: r, end: null }) })));
		this.back = el('button', { type: 'button', class: 'tb-back',
			title: 'earlier: half a range back (or shift+wheel on a map)',
			text: '◀', 'aria-label': 'earlier',
			onclick: () => this.step(-0.5) });
		this.pause = el('button', { type: 'button', class: 'tb-pause',
			onclick: () => this.togglePause() });
		this.fwd = el('button', { type: 'button', class: 'tb-fwd',
			title: 'later: half a range forward', text: '▶',
			'aria-label': 'later', onclick: () => this.step(0.5) });
		this.from = el('input', { type: 'datetime-local', step: '1',
			class: 'tb-from', 'aria-label': 'from' });
		this.to = el('input', { type: 'datetime-local', step: '1',
			class: 'tb-to', 'aria-label': 'to' });
		this.apply = el('button', { type: 'button', class: 'small tb-apply',
			text: 'Show', onclick: () => this.applyAbsolute() });
		this.what = el('span', { class: 'tb-what', 'aria-live': 'polite' });
		this.err = el('span', { class: 'tb-error', role: 'alert' });
		this.err.hidden = true;
		root.replaceChildren(this.seg, el('div', { class: 'tb-nav' },
			this.back, this.pause, this.fwd),
		el('div', { class: 'tb-abs' }, this.from, el('span', { text: '–' }),
			this.to, this.apply), this.what, this.err);
		this.root = root;
	}

	// The oldest second the agent keeps for the view (retention), or null.
	setOldest(t) {
		this.oldest = t;
		this.render();
	}

	// Shows time without telling anyone (the page restored it).
	show(time) {
		this.time = { ...time };
		this.render();
	}

	set(time) {
		this.err.hidden = true;
		this.time = { ...time };
		this.render();
		this.opts.onChange(this.time);
	}

	togglePause() {
		const now = this.opts.now();
		this.set(this.time.end === null ? { dur: this.time.dur,
			end: timeWindow(this.time, now).end } :
			{ dur: this.time.dur, end: null });
	}

	step(frac) {
		const now = this.opts.now();
		const t = pan(this.time, now, frac);
		// Back to live when stepping up to now.
		this.set(t.end >= Math.floor(now) - 1 && frac > 0 ?
			{ dur: t.dur, end: null } : t);
	}

	applyAbsolute() {
		const a = Date.parse(this.from.value) / 1000;
		const b = Date.parse(this.to.value) / 1000;
		const now = this.opts.now();
		let why = '';
		if (!(a > 0) || !(b > 0))
			why = 'enter both times';
		else if (b <= a)
			why = '“to” must be after “from”';
		else if (b - a < RANGE_MIN || b - a > RANGE_MAX)
			why = `a range is ${RANGE_MIN} s to ${RANGE_MAX / 60} min`;
		else if (a > now)
			why = '“from” is in the future';
		else if (this.oldest !== null && b < this.oldest)
			why = `the agent keeps data from ${fmtClock(this.oldest)} ` +
				'only';
		if (why) {
			this.err.textContent = why;
			this.err.hidden = false;
			return;
		}
		this.set({ dur: Math.round(b - a), end: Math.min(Math.round(b),
			Math.floor(now) - 1) });
	}

	render() {
		const t = this.time, live = t.end === null;
		for (const b of this.seg.querySelectorAll('button'))
			b.setAttribute('aria-pressed', String(live &&
				Number(b.dataset.range) === t.dur));
		this.pause.textContent = live ? '❚❚ Pause' : '● Live';
		this.pause.title = live ? 'stop following now' :
			'follow now again';
		this.pause.setAttribute('aria-pressed', String(!live));
		this.fwd.disabled = live;
		this.root.dataset.live = String(live);
		const now = this.opts.now();
		const w = timeWindow(t, now);
		if (document.activeElement !== this.from &&
			document.activeElement !== this.to) {
			this.from.value = localInput(w.start);
			this.to.value = localInput(w.end);
		}
		const dur = t.dur % 60 ? `${t.dur} s` : `${t.dur / 60} min`;
		let s = live ? `live: the last ${dur}` : `paused: ${dur} ending ` +
			fmtClock(w.end);
		if (this.oldest !== null)
			s += ` · kept since ${fmtClock(this.oldest)}`;
		this.what.textContent = s;
		// Back while the range still shows something kept.
		this.back.disabled = this.oldest !== null && w.end <= this.oldest;
	}
}
