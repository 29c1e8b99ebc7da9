// heatmap.js - one heatmap on the page: the agent's image, axes in human
// units, percentile lines and the selected cell drawn over it; a hover
// tip with the cell's count and range, a keyboard cursor (focus the map,
// arrow keys move it, Enter asks for details), drag-select to zoom into
// a time range and shift+wheel to scroll through time.
//
// The colours are the agent's (CA's rank/linear HSV algorithm lives in one
// place, the server); this view only places the PNG on a canvas and works
// out the geometry the agent used, so that clicks, hover read-outs, axis
// labels and overlay lines land on the right rows: rows are linear or
// log-spaced exactly as the agent's row edges (src/render/hmgrid.c), and
// columns are one granularity step each over the image's width.  Counts
// come from the agent's grid of the same image (…/heatmap/grid), fetched
// when the pointer or the keyboard first asks for a cell: it names each
// column's pixels and time and each row's pixels and range, so the tip and
// the cursor read exactly what the agent drew, however many seconds share
// a pixel column.

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

// Nice steps for time ticks, in seconds.
const TIME_STEPS = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800,
	3600];
const DRAG_MIN = 5;	// pixels: a shorter drag is a click

// The image width for ncols columns in avail pixels: a multiple of the
// columns (each the same whole number of pixels), or, with more columns
// than pixels, a divisor of them (each pixel the same number of columns).
export function fitWidth(avail, ncols) {
	const w = Math.max(10, Math.min(1000, Math.floor(avail)));
	if (ncols <= w)
		return Math.floor(w / ncols) * ncols;
	for (let d = w; d >= 10; d--)
		if (ncols % d === 0)
			return d;
	return w;
}

// Tick times for [start, start + dur) over width pixels, on round steps.
export function timeTicks(start, dur, width, minGap = 90) {
	const step = TIME_STEPS.find(s => s * width / dur >= minGap) ||
		TIME_STEPS[TIME_STEPS.length - 1];
	const out = [];
	for (let t = Math.ceil(start / step) * step; t <= start + dur; t += step)
		out.push(t);
	return out;
}

export class HeatmapView {
	// opts: {unit (a Unit for y), label, countName ("exits"),
	// onCellClick(x, y, cell), onHover(cell), onSelectRange(t0, t1),
	// onPan(frac), fetchGrid(img) -> grid answer}
	constructor(root, opts) {
		this.opts = opts;
		this.root = root;
		root.classList.add('hm');
		root.innerHTML = `
			<div class="hm-ylabel"></div>
			<div class="hm-yaxis"></div>
			<div class="hm-area" tabindex="0" role="application"
				aria-roledescription="heatmap"
				aria-label="heatmap: arrow keys move a cursor cell, Enter shows its details, drag or shift+wheel to change the time range">
				<canvas class="hm-image"></canvas>
				<canvas class="hm-overlay"></canvas>
				<div class="hm-band" hidden></div>
				<div class="hm-tip" role="status" hidden></div>
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
		this.band = root.querySelector('.hm-band');
		this.tip = root.querySelector('.hm-tip');
		root.querySelector('.hm-ylabel').textContent = opts.label || '';
		this.img = null;	// the last image response
		this.grid = null;	// its grid, once asked for
		this.lines = [];
		this.marker = null;
		this.hover = null;
		this.cursor = null;	// {col, row} in grid indices
		this.drag = null;
		this.blank = true;
		this.overlay.addEventListener('mousedown', ev => this.down(ev));
		window.addEventListener('mouseup', ev => this.up(ev));
		this.overlay.addEventListener('mousemove', ev => this.move(ev));
		this.overlay.addEventListener('mouseleave', () => {
			this.hover = null;
			this.tip.hidden = true;
			this.drawOverlay();
			if (this.opts.onHover)
				this.opts.onHover(null);
		});
		this.overlay.addEventListener('wheel', ev => this.wheel(ev),
			{ passive: false });
		this.area.addEventListener('keydown', ev => this.key(ev));
		this.area.addEventListener('focus', () => this.focus());
		this.area.addEventListener('blur', () => {
			this.tip.hidden = true;
			this.drawOverlay();
		});
	}

	static fitWidth(avail, ncols) {
		return fitWidth(avail, ncols);
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
		const g = c.getContext('2d', { willReadFrequently: true });
		g.drawImage(im, 0, 0);
		this.blank = isBlank(g.getImageData(0, 0, r.width, r.height).data);
		const same = this.img && this.grid && this.img.start_time ===
			r.start_time && this.img.duration === r.duration &&
			this.img.ymax === r.ymax && this.img.width === r.width;
		this.img = r;
		if (!same)
			this.grid = null;
		this.edges = rowEdges(r);
		this.root.dataset.drawn = String(r.start_time);
		this.root.dataset.duration = String(r.duration);
		this.root.dataset.blank = String(this.blank);
		this.drawAxes();
		this.drawOverlay();
		if (this.cursor && document.activeElement === this.area)
			this.loadGrid().then(() => this.showCursor());
	}

	sizeOverlay(w, h) {
		const dpr = window.devicePixelRatio || 1;
		this.overlay.width = Math.round(w * dpr);
		this.overlay.height = Math.round(h * dpr);
		this.overlay.style.width = w + 'px';
		this.overlay.style.height = h + 'px';
	}

	// A sentence over the map (no data yet, and why); null hides it.
	showEmpty(text) {
		this.empty.textContent = text || '';
		this.empty.hidden = !text;
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

	// Pixel column of a time, and the time at a pixel column.
	xPixel(t) {
		const r = this.img;
		return (t - r.start_time) / r.duration * r.width;
	}

	timeAt(x) {
		const r = this.img;
		return r.start_time + Math.max(0, Math.min(r.width, x)) /
			r.width * r.duration;
	}

	colWidth() {
		const r = this.img;
		return r.width / (r.duration / (r.step || 1));
	}

	// The agent's grid of this image, fetched once per image.
	async loadGrid() {
		if (this.grid || !this.img || !this.opts.fetchGrid)
			return this.grid;
		const img = this.img;
		if (!this.gridPending || this.gridFor !== img)
			this.gridPending = this.opts.fetchGrid(img).then(g => {
				if (this.img === img || (this.img && this.img.start_time ===
					img.start_time))
					this.grid = g;
				return g;
			}).finally(() => {
				this.gridPending = null;
			});
		this.gridFor = img;
		await this.gridPending;
		return this.grid;
	}

	// The grid cell {col, row} indices at pixel (x, y), or null.
	gridIndexAt(x, y) {
		const g = this.grid && this.grid.grid;
		if (!g)
			return null;
		const col = g.columns.findIndex(c => x >= c.x && x < c.x + c.width);
		const row = g.rows.findIndex(r => y >= r.y && y < r.y + r.height);
		return col < 0 || row < 0 ? null : { col, row };
	}

	// Everything about grid cell (col, row): time, range, count, pixels.
	gridCell(col, row) {
		const g = this.grid.grid, c = g.columns[col], r = g.rows[row];
		let count = 0;
		for (const m of g.counts)
			count += (m[col] && m[col][row]) || 0;
		return { time: c.time, duration: c.duration, row, col,
			ymin: r.ymin, ymax: r.ymax, count,
			x: c.x, y: r.y, w: c.width, h: r.height };
	}

	// The cell under pixel (x, y): its column time and row bounds (and
	// its count once the grid is in).
	cellAt(x, y) {
		const r = this.img;
		if (!r)
			return null;
		const gi = this.gridIndexAt(x, y);
		if (gi)
			return this.gridCell(gi.col, gi.row);
		const col = Math.floor(x / this.colWidth());
		// As the agent: rows count down from the top, row k on pixel
		// rows [k * H / n, (k + 1) * H / n).
		const k = Math.floor(Math.floor(y) * r.nbuckets / r.height);
		const row = r.nbuckets - 1 - k;
		if (row < 0 || row >= r.nbuckets || x < 0 || x >= r.width)
			return null;
		return { time: Math.floor(this.timeAt(x)), duration: r.step || 1,
			row, ymin: this.edges[row], ymax: this.edges[row + 1],
			count: null };
	}

	// "14:03:27 · latency 120 – 240 µs · 37 exits"
	describe(cell) {
		const u = this.opts.unit;
		const when = cell.duration > 1 ? `${fmtClock(cell.time)}–` +
			`${fmtClock(cell.time + cell.duration)}` : fmtClock(cell.time);
		// Log rows share the agent's buckets out by value: a count may
		// then be an estimate, shown as such.
		const c = cell.count;
		const n = c === null || c === undefined ? '…' :
			Number.isInteger(c) ? String(c) : `≈${Math.round(c)}`;
		return `${when} · ${this.opts.label} ${u.formatRange(cell.ymin,
			cell.ymax)} · ${n} ${this.opts.countName || 'events'}`;
	}

	placeTip(cell, x, y) {
		this.tip.textContent = this.describe(cell);
		this.tip.hidden = false;
		const r = this.img;
		const right = x > r.width * 0.6;
		this.tip.style.left = right ? '' : (x + 14) + 'px';
		this.tip.style.right = right ? (r.width - x + 14) + 'px' : '';
		this.tip.style.top = Math.max(0, Math.min(r.height - 40, y + 12)) +
			'px';
		this.tip.dataset.count = cell.count === null ? '' :
			String(cell.count);
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
		this.xaxis.replaceChildren(...timeTicks(r.start_time, r.duration,
			r.width).map(t => {
			const el = document.createElement('span');
			el.className = 'tick';
			el.style.left = this.xPixel(t) + 'px';
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
			const x0 = this.xPixel(this.marker.time);
			const x1 = Math.max(x0 + 2, this.xPixel(this.marker.time +
				(this.marker.duration || r.step || 1)));
			// By value, not row: it stays on its range when ymax
			// autoscales or the rows change.
			const y0 = Math.round(this.yPixel(this.marker.ymax));
			const y1 = Math.round(this.yPixel(this.marker.ymin));
			if (x1 > 0 && x0 < r.width && y1 > y0) {
				g.strokeStyle = '#111';
				g.lineWidth = 2;
				g.strokeRect(x0 + 1, y0 + 1, Math.max(x1 - x0 - 2, 1),
					Math.max(y1 - y0 - 2, 1));
			}
		}
		if (this.hover && !this.drag) {
			g.strokeStyle = 'rgba(0,0,0,0.35)';
			g.lineWidth = 1;
			const c = this.cellAt(this.hover.x, this.hover.y);
			if (c && c.w !== undefined)
				g.strokeRect(c.x + 0.5, c.y + 0.5, Math.max(c.w - 1, 1),
					Math.max(c.h - 1, 1));
			else
				g.strokeRect(Math.floor(this.hover.x / cw) * cw + 0.5, 0.5,
					cw - 1, r.height - 1);
		}
		if (this.cursor && this.grid &&
			document.activeElement === this.area) {
			const c = this.gridCell(this.cursor.col, this.cursor.row);
			g.setLineDash([3, 2]);
			g.strokeStyle = '#0b57d0';
			g.lineWidth = 2;
			g.strokeRect(c.x - 1, c.y - 1, c.w + 2, c.h + 2);
			g.setLineDash([]);
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

	down(ev) {
		if (ev.button !== 0 || !this.img)
			return;
		ev.preventDefault();
		this.area.focus({ preventScroll: true });
		this.drag = { x0: this.point(ev).x, x1: this.point(ev).x,
			y: this.point(ev).y };
	}

	up(ev) {
		const d = this.drag;
		if (!d)
			return;
		this.drag = null;
		this.band.hidden = true;
		const x1 = Math.max(0, Math.min(this.img.width, this.point(ev).x));
		if (Math.abs(x1 - d.x0) >= DRAG_MIN) {
			if (this.opts.onSelectRange)
				this.opts.onSelectRange(this.timeAt(Math.min(d.x0, x1)),
					this.timeAt(Math.max(d.x0, x1)));
			this.drawOverlay();
			return;
		}
		const cell = this.cellAt(d.x0, d.y);
		if (cell && this.opts.onCellClick)
			this.opts.onCellClick(Math.floor(d.x0), Math.floor(d.y), cell);
	}

	move(ev) {
		const p = this.point(ev);
		this.hover = p;
		if (this.drag) {
			this.drag.x1 = Math.max(0, Math.min(this.img.width, p.x));
			const a = Math.min(this.drag.x0, this.drag.x1);
			this.band.style.left = a + 'px';
			this.band.style.width = Math.abs(this.drag.x1 - this.drag.x0) +
				'px';
			this.band.hidden = false;
			this.tip.hidden = true;
			this.drawOverlay();
			return;
		}
		this.drawOverlay();
		const cell = this.cellAt(p.x, p.y);
		if (cell) {
			this.placeTip(cell, p.x, p.y);
			if (cell.count === null)
				this.loadGrid().then(() => {
					if (this.hover === p && !this.drag) {
						const c = this.cellAt(p.x, p.y);
						if (c)
							this.placeTip(c, p.x, p.y);
						this.drawOverlay();
						if (this.opts.onHover)
							this.opts.onHover(c);
					}
				}).catch(() => {});
		} else {
			this.tip.hidden = true;
		}
		if (this.opts.onHover)
			this.opts.onHover(cell);
	}

	// Shift+wheel (or a horizontal scroll) moves through time.
	wheel(ev) {
		const dx = ev.shiftKey ? ev.deltaY || ev.deltaX : ev.deltaX;
		if (!dx || !this.opts.onPan || Math.abs(ev.deltaX) <
			Math.abs(ev.deltaY) && !ev.shiftKey)
			return;
		ev.preventDefault();
		clearTimeout(this.wheelTimer);
		this.wheelAcc = (this.wheelAcc || 0) + dx;
		this.wheelTimer = setTimeout(() => {
			const frac = Math.max(-1, Math.min(1, this.wheelAcc / 1000));
			this.wheelAcc = 0;
			this.opts.onPan(frac);
		}, 120);
	}

	// ---- the keyboard cursor ----

	async focus() {
		if (!this.img)
			return;
		await this.loadGrid().catch(() => null);
		if (!this.grid)
			return;
		const g = this.grid.grid;
		if (!this.cursor || this.cursor.col >= g.columns.length ||
			this.cursor.row >= g.rows.length) {
			// Start on the fullest cell: where there is something to
			// read.
			let best = { col: g.columns.length - 1, row: 0, n: -1 };
			for (let c = 0; c < g.columns.length; c++)
				for (let r = 0; r < g.rows.length; r++) {
					const n = this.gridCell(c, r).count;
					if (n > best.n)
						best = { col: c, row: r, n };
				}
			this.cursor = { col: best.col, row: best.row };
		}
		this.showCursor();
	}

	showCursor() {
		if (!this.cursor || !this.grid)
			return;
		const g = this.grid.grid;
		this.cursor.col = Math.max(0, Math.min(g.columns.length - 1,
			this.cursor.col));
		this.cursor.row = Math.max(0, Math.min(g.rows.length - 1,
			this.cursor.row));
		const c = this.gridCell(this.cursor.col, this.cursor.row);
		this.placeTip(c, c.x + c.w, c.y);
		this.area.dataset.cursor = `${this.cursor.col},${this.cursor.row}`;
		this.drawOverlay();
		if (this.opts.onHover)
			this.opts.onHover(c);
	}

	key(ev) {
		const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0],
			ArrowUp: [0, 1], ArrowDown: [0, -1] };
		if (moves[ev.key] && this.grid) {
			ev.preventDefault();
			const step = ev.shiftKey ? 10 : 1;
			if (!this.cursor)
				this.cursor = { col: 0, row: 0 };
			this.cursor.col += moves[ev.key][0] * step;
			this.cursor.row += moves[ev.key][1] * step;
			this.showCursor();
		} else if ((ev.key === 'Enter' || ev.key === ' ') && this.cursor &&
			this.grid) {
			ev.preventDefault();
			const c = this.gridCell(this.cursor.col, this.cursor.row);
			if (this.opts.onCellClick)
				this.opts.onCellClick(c.x, c.y, c);
		} else if (ev.key === 'Escape') {
			this.tip.hidden = true;
		}
	}
}

// The overlay lines of an image: for each line definition ({label,
// color, pct?}: a percentile, or the mean without pct), ask(def) answers
// the agent's …/percentile or …/average for the image's interval; values
// land on the image's columns (null where the column has none).
export async function overlayLines(img, defs, ask) {
	return Promise.all(defs.map(async def => {
		const r = await ask(def);
		const vals = r.averages || r.percentiles || [];
		const values = new Array(img.duration / (img.step || 1)).fill(null);
		(r.times || []).forEach((t, i) => {
			const col = (t - img.start_time) / (img.step || 1);
			if (col >= 0 && col < values.length && vals[i] > 0)
				values[col] = vals[i];
		});
		return { label: def.label, color: def.color, values };
	}));
}

// True if RGBA pixels are all white or transparent (nothing drawn).
export function isBlank(d) {
	for (let i = 0; i < d.length; i += 4)
		if (d[i + 3] > 0 && (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250))
			return false;
	return true;
}
