// linechart.js - a stacked area chart of per-second values, per key.
//
// Scalar and discrete instrumentations have no heatmap; their last minute
// is drawn here from …/value/raw?ndatapoints=60: one band per key, stacked
// so the top edge is the total, with a hover read-out of every key at that
// second.  Each value is a count over its whole second, so it is drawn as a
// step spanning that second, like a heatmap column, not as a point joined
// to its neighbours.  Drawn on one canvas at the screen's pixel ratio.
// Dragging across it selects a time range (opts.onSelectRange), as on a
// heatmap.

import { fmtClock } from './units.js';
import { timeTicks } from './heatmap.js';

const PAD = { left: 64, right: 12, top: 12, bottom: 26 };

export class LineChart {
	// opts: {unit: Unit of the values, height, onSelectRange(t0, t1)}
	constructor(root, opts) {
		this.opts = opts;
		// opts.pad: margins to line the plot up with other charts'.
		this.pad = { ...PAD, ...(opts.pad || {}) };
		root.classList.add('lc');
		root.innerHTML = `<canvas class="lc-canvas"></canvas>
			<div class="lc-band" hidden></div>
			<div class="lc-tip" hidden></div>`;
		this.root = root;
		this.canvas = root.querySelector('canvas');
		this.tip = root.querySelector('.lc-tip');
		this.data = null;
		this.hoverIdx = -1;
		this.band = root.querySelector('.lc-band');
		this.canvas.addEventListener('mousemove', ev => this.move(ev));
		this.canvas.addEventListener('mousedown', ev => {
			if (ev.button === 0 && this.data) {
				ev.preventDefault();
				this.drag = { x0: this.xOf(ev) };
			}
		});
		window.addEventListener('mouseup', ev => this.up(ev));
		this.canvas.addEventListener('mouseleave', () => {
			this.hoverIdx = -1;
			this.tip.hidden = true;
			this.draw();
		});
	}

	// data: {times: [unix s], series: [{key, label, color, values}],
	// from: the first index with data (earlier seconds predate the
	// instrumentation and are left blank rather than drawn as zero)}
	setData(data) {
		this.data = data;
		this.draw();
	}

	geometry() {
		const w = this.opts.width || Math.max(300, this.root.clientWidth);
		const h = this.opts.height || 300;
		return { w, h, pw: w - this.pad.left - this.pad.right,
			ph: h - this.pad.top - this.pad.bottom };
	}

	draw() {
		const d = this.data;
		if (!d)
			return;
		const { w, h, pw, ph } = this.geometry();
		const dpr = window.devicePixelRatio || 1, c = this.canvas;
		if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h *
			dpr)) {
			c.width = Math.round(w * dpr);
			c.height = Math.round(h * dpr);
			c.style.width = w + 'px';
			c.style.height = h + 'px';
		}
		const g = c.getContext('2d');
		g.setTransform(dpr, 0, 0, dpr, 0, 0);
		g.clearRect(0, 0, w, h);
		const n = d.times.length, from = Math.min(d.from || 0, n);
		const tops = d.series.map(() => new Array(n).fill(0));
		let max = 0;
		for (let i = from; i < n; i++) {
			let acc = 0;
			d.series.forEach((s, k) => {
				acc += s.values[i] || 0;
				tops[k][i] = acc;
			});
			max = Math.max(max, acc);
		}
		const u = this.opts.unit;
		const ticks = u.ticks(0, max > 0 ? max * 1.05 : 1, 5);
		const ymax = Math.max(ticks[ticks.length - 1], max, 1e-9);
		const X = i => this.pad.left + i / Math.max(1, n) * pw;
		const Y = v => this.pad.top + ph - v / ymax * ph;
		const font = getComputedStyle(this.root).fontFamily;
		g.font = `11px ${font}`;
		g.textBaseline = 'middle';
		g.textAlign = 'right';
		for (const t of ticks) {
			g.strokeStyle = '#e6e8eb';
			g.lineWidth = 1;
			g.beginPath();
			g.moveTo(this.pad.left, Math.round(Y(t)) + 0.5);
			g.lineTo(this.pad.left + pw, Math.round(Y(t)) + 0.5);
			g.stroke();
			g.fillStyle = '#5b6470';
			g.fillText(u.format(t), this.pad.left - 8, Y(t));
		}
		g.textAlign = 'center';
		g.textBaseline = 'top';
		const step = n > 1 ? d.times[1] - d.times[0] : 1;
		for (const t of timeTicks(d.times[0], n * step, pw))
			g.fillText(fmtClock(t), X((t - d.times[0]) / step),
				this.pad.top + ph + 8);
		// Bands, bottom first: each between the previous top and its own.
		d.series.forEach((s, k) => {
			if (from >= n)
				return;
			const under = i => k ? tops[k - 1][i] : 0;
			g.beginPath();
			for (let i = from; i < n; i++) {
				g.lineTo(X(i), Y(tops[k][i]));
				g.lineTo(X(i + 1), Y(tops[k][i]));
			}
			for (let i = n - 1; i >= from; i--) {
				g.lineTo(X(i + 1), Y(under(i)));
				g.lineTo(X(i), Y(under(i)));
			}
			g.closePath();
			g.fillStyle = s.color;
			g.globalAlpha = 0.55;
			g.fill();
			g.globalAlpha = 1;
			g.beginPath();
			for (let i = from; i < n; i++) {
				g.lineTo(X(i), Y(tops[k][i]));
				g.lineTo(X(i + 1), Y(tops[k][i]));
			}
			g.strokeStyle = s.color;
			g.lineWidth = 1.5;
			g.stroke();
		});
		if (this.hoverIdx >= 0 && this.hoverIdx < n) {
			g.fillStyle = 'rgba(0,0,0,0.06)';
			g.fillRect(X(this.hoverIdx), this.pad.top, pw / n, ph);
		}
		this.X = X;
	}

	xOf(ev) {
		return ev.clientX - this.canvas.getBoundingClientRect().left;
	}

	// The time at canvas x.
	timeAt(x) {
		const d = this.data, n = d.times.length;
		const step = n > 1 ? d.times[1] - d.times[0] : 1;
		const { pw } = this.geometry();
		const f = Math.max(0, Math.min(1, (x - this.pad.left) / pw));
		return d.times[0] + f * n * step;
	}

	up(ev) {
		const dr = this.drag;
		if (!dr)
			return;
		this.drag = null;
		this.band.hidden = true;
		const x1 = this.xOf(ev);
		if (Math.abs(x1 - dr.x0) >= 5 && this.opts.onSelectRange)
			this.opts.onSelectRange(this.timeAt(Math.min(dr.x0, x1)),
				this.timeAt(Math.max(dr.x0, x1)));
	}

	move(ev) {
		const d = this.data;
		if (!d || !d.times.length)
			return;
		if (this.drag) {
			const x1 = this.xOf(ev);
			this.band.style.left = Math.min(this.drag.x0, x1) + 'px';
			this.band.style.width = Math.abs(x1 - this.drag.x0) + 'px';
			this.band.style.top = this.pad.top + 'px';
			this.band.style.height = this.geometry().ph + 'px';
			this.band.hidden = false;
			this.tip.hidden = true;
			return;
		}
		const b = this.canvas.getBoundingClientRect();
		const { pw } = this.geometry(), n = d.times.length;
		const i = Math.floor((ev.clientX - b.left - this.pad.left) / pw * n);
		if (i < 0 || i >= n) {
			this.tip.hidden = true;
			return;
		}
		this.hoverIdx = i;
		this.draw();
		const u = this.opts.unit;
		if (i < (d.from || 0)) {
			this.tip.innerHTML = `<div class="lc-tip-time">` +
				`${fmtClock(d.times[i])}</div><div>not instrumented ` +
				`yet</div>`;
			this.tip.hidden = false;
			return;
		}
		let total = 0;
		const rows = d.series.map(s => {
			total += s.values[i] || 0;
			return `<div><i style="background:${s.color}"></i>` +
				`<span>${escapeHtml(s.label)}</span>` +
				`<b>${u.format(s.values[i] || 0)}</b></div>`;
		}).reverse();
		this.tip.innerHTML = `<div class="lc-tip-time">` +
			`${fmtClock(d.times[i])}</div>${rows.join('')}` +
			(d.series.length > 1 ? `<div class="lc-tip-total"><span>` +
				`total</span><b>${u.format(total)}</b></div>` : '');
		this.tip.hidden = false;
		const x = this.X(i + 1);
		this.tip.style.left = (x + 14 + 180 > b.width ? x - 194 : x + 14) +
			'px';
	}
}

export function escapeHtml(s) {
	return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;',
		'<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' })[c]);
}
