// heatmap.js - one heatmap on the page: the agent's image, axes in human
// units, percentile lines and the selected cell drawn over it.
//
// The colours are the agent's (CA's rank/linear HSV algorithm lives in one
// place, the server); this view only places the PNG on a canvas and works
// out the geometry the agent used, so that clicks, hover read-outs, axis
// labels and overlay lines land on the right rows: rows are linear or
// log-spaced exactly as the agent's row edges (src/render/hmgrid.c), and
// columns are one granularity step each over the image's width.

import { fmtClock } from './units.js';

// The agent's row edges for a response (ymin, ymax, nbuckets, scale).
export function rowEdges(r) {
	const n = r.nbuckets, lo = r.ymin, hi = r.ymax;
	const base = lo < 1 ? 1 : lo, decades = Math.log10(hi / base);
	const e = [lo];
	for (let k = 1; k < n; k++)
		e.push(r.scale === 'log' ? base * Math.pow(10, decades * k / n)
			: lo + (hi - lo) * k / n);
	e.push(hi);
	return e;
}

export class HeatmapView {
	// opts: {unit (a Unit for y), label, onCellClick(x, y), onHover(info)}
	constructor(root, opts) {
		this.opts = opts;
		this.root = root;
		root.classList.add('hm');
		root.innerHTML = `
			<div class="hm-ylabel"></div>
			<div class="hm-yaxis"></div>
			<div class="hm-area">
				<canvas class="hm-image"></canvas>
				<canvas class="hm-overlay"></canvas>
				<div class="hm-empty">Waiting for data…</div>
			</div>
			<div class="hm-gutter"></div>
			<div class="hm-xaxis"></div>`;
		this.area = root.querySelector('.hm-area');
		this.canvas = root.querySelector('.hm-image');
		this.overlay = root.querySelector('.hm-overlay');
		this.yaxis = root.querySelector('.hm-yaxis');
		this.xaxis = root.querySelector('.hm-xaxis');
		this.gutter = root.querySelector('.hm-gutter');
		this.empty = root.querySelector('.hm-empty');
		root.querySelector('.hm-ylabel').textContent = opts.label || '';
		this.img = null;	// the last image response
		this.lines = [];
		this.marker = null;
		this.hover = null;
		this.overlay.addEventListener('click', ev => this.click(ev));
		this.overlay.addEventListener('mousemove', ev => this.move(ev));
		this.overlay.addEventListener('mouseleave', () => {
			this.hover = null;
			this.drawOverlay();
			if (this.opts.onHover)
				this.opts.onHover(null);
		});
	}

	// The geometry of the next request: the width is a multiple of the
	// column count so every column is the same whole number of pixels.
	static fitWidth(avail, ncols) {
		const w = Math.floor(Math.min(1000, Math.max(ncols * 4, avail)) /
			ncols) * ncols;
		return Math.max(ncols, w);
	}

	// Draws an image response (base64 PNG plus geometry).
	async draw(r) {
		const im = new Image();
		im.src = 'data:image/png;base64,' + r.image;
		await im.decode();
		const c = this.canvas;
		if (c.width !== r.width || c.height !== r.height) {
			c.width = r.width;
			c.height = r.height;
			c.style.width = r.width + 'px';
			c.style.height = r.height + 'px';
			this.area.style.width = r.width + 'px';
			this.area.style.height = r.height + 'px';
			this.sizeOverlay(r.width, r.height);
		}
		c.getContext('2d').drawImage(im, 0, 0);
		this.img = r;
		this.edges = rowEdges(r);
		this.root.dataset.drawn = String(r.start_time);
		this.empty.hidden = true;
		this.drawAxes();
		this.drawOverlay();
	}

	sizeOverlay(w, h) {
		const dpr = window.devicePixelRatio || 1;
		this.overlay.width = Math.round(w * dpr);
		this.overlay.height = Math.round(h * dpr);
		this.overlay.style.width = w + 'px';
		this.overlay.style.height = h + 'px';
	}

	showEmpty(text) {
		this.empty.textContent = text;
		this.empty.hidden = false;
	}

	// Pixel row (from the top) of a raw y value, following the rows.
	yPixel(v) {
		const r = this.img, e = this.edges, n = r.nbuckets, H = r.height;
		if (v <= e[0])
			return H;
		if (v >= e[n])
			return 0;
		let k = 0;
		while (k < n - 1 && v >= e[k + 1])
			k++;
		const frac = (k + (v - e[k]) / (e[k + 1] - e[k])) / n;
		return H - frac * H;
	}

	colWidth() {
		const r = this.img;
		return r.width / (r.duration / (r.step || 1));
	}

	// The cell under pixel (x, y): its column time and row bounds.
	cellAt(x, y) {
		const r = this.img;
		if (!r)
			return null;
		const col = Math.floor(x / this.colWidth());
		// As the agent: rows count down from the top, row k on pixel
		// rows [k * H / n, (k + 1) * H / n).
		const k = Math.floor(Math.floor(y) * r.nbuckets / r.height);
		const row = r.nbuckets - 1 - k;
		if (row < 0 || row >= r.nbuckets || x < 0 || x >= r.width)
			return null;
		return { time: r.start_time + col * (r.step || 1), row,
			ymin: this.edges[row], ymax: this.edges[row + 1] };
	}

	drawAxes() {
		const r = this.img, u = this.opts.unit;
		const ticks = r.scale === 'log' ?
			u.logTicks(Math.max(this.edges[1], 1e-12), r.ymax) :
			u.ticks(r.ymin, r.ymax, Math.max(3, Math.floor(r.height /
				50)));
		this.yaxis.replaceChildren(...ticks.map(v => {
			const el = document.createElement('span');
			el.className = 'tick';
			el.style.top = this.yPixel(v) + 'px';
			el.textContent = u.format(v);
			return el;
		}));
		const cw = this.colWidth(), ncols = r.duration / (r.step || 1);
		const every = Math.max(1, Math.ceil(ncols / Math.max(2,
			r.width / 90)));
		const nice = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600]
			.find(s => s >= every * (r.step || 1)) || every;
		const xs = [];
		for (let i = 0; i <= ncols; i++) {
			const t = r.start_time + i * (r.step || 1);
			if (t % nice === 0)
				xs.push([i * cw, t]);
		}
		this.xaxis.replaceChildren(...xs.map(([x, t]) => {
			const el = document.createElement('span');
			el.className = 'tick';
			el.style.left = x + 'px';
			el.textContent = fmtClock(t);
			return el;
		}));
	}

	// lines: [{label, color, values: [raw or null per column]}]
	setLines(lines) {
		this.lines = lines;
		this.drawOverlay();
	}

	// The selected cell {time, ymin, ymax}, anchored to its time so it
	// scrolls with the data.
	setMarker(cell) {
		this.marker = cell;
		this.drawOverlay();
	}

	drawOverlay() {
		const r = this.img;
		if (!r)
			return;
		const dpr = window.devicePixelRatio || 1;
		const g = this.overlay.getContext('2d');
		g.setTransform(dpr, 0, 0, dpr, 0, 0);
		g.clearRect(0, 0, r.width, r.height);
		const cw = this.colWidth();
		const labels = [];
		for (const ln of this.lines) {
			g.lineJoin = 'round';
			for (const [width, color] of [[4, 'rgba(255,255,255,0.85)'],
				[1.75, ln.color]]) {
				g.beginPath();
				let pen = false;
				ln.values.forEach((v, i) => {
					if (v === null || v === undefined) {
						pen = false;
						return;
					}
					const y = this.yPixel(v);
					if (pen) {
						g.lineTo(i * cw, y);
					} else {
						g.moveTo(i * cw, y);
						pen = true;
					}
					g.lineTo((i + 1) * cw, y);
				});
				g.strokeStyle = color;
				g.lineWidth = width;
				g.stroke();
			}
			const last = [...ln.values].reverse().find(v => v !== null &&
				v !== undefined);
			if (last !== undefined)
				labels.push({ y: this.yPixel(last), ln, v: last });
		}
		this.drawLineLabels(labels);
		if (this.marker) {
			const col = (this.marker.time - r.start_time) / (r.step || 1);
			// By value, not row: it stays on its range when ymax
			// autoscales or the rows change.
			const y0 = Math.round(this.yPixel(this.marker.ymax));
			const y1 = Math.round(this.yPixel(this.marker.ymin));
			if (col >= 0 && col * cw < r.width && y1 > y0) {
				g.strokeStyle = '#111';
				g.lineWidth = 2;
				g.strokeRect(col * cw + 1, y0 + 1, cw - 2,
					Math.max(y1 - y0 - 2, 1));
			}
		}
		if (this.hover) {
			g.strokeStyle = 'rgba(0,0,0,0.35)';
			g.lineWidth = 1;
			const x = Math.floor(this.hover.x / cw) * cw;
			g.strokeRect(x + 0.5, 0.5, cw - 1, r.height - 1);
		}
	}

	// Right-hand labels of the overlay lines, pushed apart to stay legible.
	drawLineLabels(labels) {
		labels.sort((a, b) => a.y - b.y);
		let prev = -Infinity;
		const els = labels.map(l => {
			const y = Math.max(l.y, prev + 15);
			prev = y;
			const el = document.createElement('span');
			el.className = 'line-label';
			el.style.top = y + 'px';
			el.style.color = l.ln.color;
			el.textContent = `${l.ln.label} ${this.opts.unit.format(l.v)}`;
			return el;
		});
		this.gutter.replaceChildren(...els);
	}

	point(ev) {
		const b = this.overlay.getBoundingClientRect();
		return { x: ev.clientX - b.left, y: ev.clientY - b.top };
	}

	click(ev) {
		const p = this.point(ev);
		const cell = this.cellAt(p.x, p.y);
		if (cell && this.opts.onCellClick)
			this.opts.onCellClick(Math.floor(p.x), Math.floor(p.y), cell);
	}

	move(ev) {
		const p = this.point(ev);
		this.hover = p;
		this.drawOverlay();
		if (this.opts.onHover)
			this.opts.onHover(this.cellAt(p.x, p.y));
	}
}
