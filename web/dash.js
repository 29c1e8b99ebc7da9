// dash.js - dashboards: several maps on one page, on one time axis.
//
// Each panel is one instrumentation (found by what it measures, or
// created with an hour's retention) drawn as a heatmap when it has a
// numeric decomposition, else as a stacked per-second chart; every panel
// draws the same time range at the same width and left edge, so a moment
// lines up down the page.  The range is the page's time bar; dragging
// across any panel zooms all of them.  The dashboard (panels and range) is
// the share link (#d=...), and dashboards are saved per agent and scope in
// localStorage (dashstate.js says why there).
//
// A panel is also the figure the demo screenshots: title, description,
// axes with units, legend, each in the panel's box (.dpanel), and a link
// with one panel (#d=[one]) shows just that map.

import { ca, ApiError, Unreachable, installBanner, poll, sameSpec,
	installAccessBar, isAuthError, getTenant,
	watchReachability } from './ca.js';
import { fieldUnit, metricUnit, isNumeric, hueColor, fmtClock }
	from './units.js';
import { HeatmapView, fitWidth, overlayLines } from './heatmap.js';
import { LineChart } from './linechart.js';
import { LINES, mapDefaults, keyHues, decodeTime, encodeTime, timeWindow,
	zoom } from './viewstate.js';
import { DEFAULT_PANELS, checkPanels, panelSpec, storageKey, loadSaved,
	saveDashboard, deleteDashboard } from './dashstate.js';
import { TimeBar } from './timebar.js';
import { whyNoData } from './sources.js';
import { el } from './dom.js';

const $ = sel => document.querySelector(sel);
const RETENTION = 3600;
const HM_HEIGHT = 160;
const LEFT = 73;		// y label + y axis + the map's border
const RIGHT = 96;		// the line-label gutter
const MAX_SERIES = 8;
const PALETTE = ['#e8590c', '#1c7ed6', '#2f9e44', '#ae3ec9', '#f08c00',
	'#0c8599', '#e03131', '#5c7cfa', '#66a80f', '#868e96'];

let desc = null;
let status = null;
let clockOffset = 0;
let time = { dur: 300, end: null };
let timebar = null;
let dash = { name: 'default', panels: DEFAULT_PANELS };
let panels = [];
let list = null;		// the scope's instrumentations, per load
let win = null;			// this tick's interval, the same for all panels

const agentNow = () => Date.now() / 1000 + clockOffset;
const fieldLabel = f => (desc.fields[f] && desc.fields[f].label) || f;
const metricOf = p => desc.metrics.find(m => `${m.module}.${m.stat}` ===
	p.metric);
const storage = () => window.localStorage;
const key = () => storageKey(location.host, getTenant());

function errText(e) {
	return e instanceof ApiError ? e.message + (e.param ?
		` (parameter “${e.param}”)` : '') : e.message || String(e);
}

// ---- the share link ----------------------------------------------------

function encode() {
	const q = new URLSearchParams();
	q.set('name', dash.name);
	// The default dashboard as it comes needs no panels in its link.
	if (dash.name !== 'default' || JSON.stringify(dash.panels) !==
		JSON.stringify(checkPanels(DEFAULT_PANELS)))
		q.set('d', JSON.stringify(dash.panels));
	encodeTime(q, time);
	return '#' + q.toString();
}

function decode(hash) {
	const q = new URLSearchParams(hash.replace(/^#/, ''));
	const t = decodeTime(q.has('t') ? q : new URLSearchParams(
		[...q.entries(), ['t', '300']]));
	const name = q.get('name') || 'default';
	let ps;
	if (q.has('d')) {
		try {
			ps = JSON.parse(q.get('d'));
		} catch (e) {
			throw new Error(`d is not valid JSON (${e.message})`);
		}
	} else {
		ps = name === 'default' ? DEFAULT_PANELS :
			loadSaved(storage(), key())[name];
		if (!ps)
			throw new Error(`no saved dashboard “${name}” in this ` +
				'browser for this scope');
	}
	return { name, panels: checkPanels(ps), time: t };
}

// ---- one panel ---------------------------------------------------------

class Panel {
	constructor(def, root) {
		this.def = def;
		this.root = root;
		this.spec = panelSpec(def);
		this.metric = metricOf(def);
		this.colors = new Map();
	}

	// Checks the panel against what this scope's GET /ca offers.
	problem() {
		if (!this.metric)
			return `this agent offers no metric ${this.def.metric} here`;
		const bad = this.def.decomp.filter(f => !this.metric.fields
			.includes(f));
		if (bad.length)
			return `${this.def.metric} cannot be broken down by ` +
				bad.join(', ') + ' here';
		return '';
	}

	async init() {
		const d = this.def;
		this.numeric = d.decomp.find(f => isNumeric(desc, f));
		this.discrete = d.decomp.find(f => !isNumeric(desc, f));
		this.opts = { ...mapDefaults(desc, d.decomp), ...d.opts };
		const title = d.title || (this.metric ? this.metric.label : d.metric);
		const head = el('div', { class: 'dpanel-head' },
			el('h2', { text: title }),
			el('span', { class: 'acts' },
				el('a', { class: 'small open', text: 'Open',
					title: 'open in the analytics page', href: '/' }),
				el('button', { type: 'button', class: 'small danger remove',
					text: 'Remove', title: 'remove from this dashboard',
					onclick: () => removePanel(this) })));
		this.desc = el('p', { class: 'desc' });
		this.body = el('div', { class: 'dbody' });
		this.legend = el('div', { class: 'dlegend' });
		this.readout = el('div', { class: 'readout', 'aria-live': 'polite' });
		this.root.replaceChildren(head, this.desc, this.body, this.legend,
			this.readout);
		const why = this.problem();
		if (why) {
			this.desc.textContent = d.metric + ' by ' + d.decomp.join(', ');
			this.body.replaceChildren(el('p', { class: 'error', text:
				`Not shown: ${why}.` }));
			return;
		}
		this.unit = metricUnit(desc, this.metric);
		this.describe();
		if (!list)
			list = await ca.list();
		this.inst = list.find(i => sameSpec(i, this.spec));
		if (!this.inst) {
			this.inst = await ca.create({ ...this.spec,
				'retention-time': RETENTION });
			list.push(this.inst);
		}
		this.describe();
		this.root.querySelector('.open').href = '/' + analyticsLink(this);
		if (this.numeric) {
			this.hm = new HeatmapView(this.body, {
				unit: fieldUnit(desc, this.numeric),
				label: fieldLabel(this.numeric),
				countName: this.unit.name || 'events',
				onCellClick: (x, y) => this.details(x, y),
				onHover: c => {
					this.readout.textContent = c ? this.hm.describe(c) : '';
				},
				onSelectRange: (a, b) => timebar.set(zoom(a, b, agentNow())),
				onPan: f => timebar.step(f),
				fetchGrid: img => ca.heatmap(this.inst, 'grid', {
					...this.params(), start_time: img.start_time,
					duration: img.duration, ymax: img.ymax }),
			});
			this.hm.showEmpty('Waiting for data…');
		} else {
			this.chart = new LineChart(this.body, { unit: this.unit,
				height: HM_HEIGHT + 26, width: this.width() + LEFT + RIGHT,
				pad: { left: LEFT, right: RIGHT, top: 0 },
				onSelectRange: (a, b) => timebar.set(zoom(a, b,
					agentNow())) });
		}
	}

	// "vm.exits by exit reason and latency (log scale, p50 p99) · source
	// bpf_exits: tracepoints kvm:kvm_exit and kvm:kvm_entry"
	describe() {
		const m = this.metric, d = this.def;
		const by = d.decomp.length ? ' by ' + d.decomp.map(fieldLabel)
			.join(' and ') : '';
		const bits = [`${m.label}${by}`, `${d.metric}` + (this.inst ?
			` #${this.inst.id}` : '')];
		if (this.numeric) {
			const o = this.opts;
			bits.push([o.scale === 'log' ? 'log scale' : 'linear scale',
				o.ymax ? `0–${o.ymax}` : '', o.lines.length ?
					'lines: ' + o.lines.join(', ') : ''].filter(Boolean)
				.join(', '));
		} else {
			bits.push(`${this.unit.name || 'count'} per second, stacked`);
		}
		if (m.source)
			bits.push(`from ${m.source}`);
		if (Object.keys(d.pred).length)
			bits.push('where ' + JSON.stringify(d.pred));
		this.desc.textContent = bits.join(' · ');
	}

	// The map's width: what the page leaves, the same for every panel.
	width() {
		const avail = $('#panels').clientWidth - 30 - LEFT - RIGHT;
		return fitWidth(avail, time.dur);
	}

	// Every panel asks for the same interval (win, fixed per tick), so
	// that a live dashboard never straddles a second between panels.
	timeParams() {
		const w = win || timeWindow(time, agentNow());
		return { start_time: w.start, duration: w.dur };
	}

	params() {
		const o = this.opts;
		const p = { width: this.width(), height: HM_HEIGHT,
			nbuckets: o.nb, coloring: o.color, scale: o.scale,
			...this.timeParams() };
		if (o.ymax) {
			const y = fieldUnit(desc, this.numeric).parse(o.ymax);
			if (!Number.isNaN(y))
				p.ymax = Math.round(y);
		}
		if (this.discrete && o.mode === 'all') {
			p.decompose_all = 'true';
			const n = (this.img && this.img.present ?
				this.img.present.length : 0) + 8;
			p.hues = keyHues(n, false);
		}
		return p;
	}

	async refresh() {
		if (!this.inst)
			return;
		try {
			if (this.hm)
				await this.refreshMap();
			else
				await this.refreshChart();
		} catch (e) {
			if (e instanceof ApiError && e.status === 404 && !this.again) {
				// Gone (deleted, agent restarted): make it again, once.
				this.again = true;
				this.inst = await ca.create({ ...this.spec,
					'retention-time': RETENTION });
				return;
			}
			throw e;
		}
	}

	async refreshMap() {
		const p = this.params();
		const img = await ca.heatmap(this.inst, 'image', p);
		await this.hm.draw(img);
		this.img = img;
		this.hm.showEmpty(this.hm.blank ? whyNoData(status, this.def.metric,
			this.metric.label.toLowerCase(), this.inst,
			{ start: img.start_time,
				end: img.start_time + img.duration,
				live: time.end === null }) : null);
		this.root.dataset.blank = String(this.hm.blank);
		this.drawLegend(img);
		const at = { ...p, start_time: img.start_time, ymax: img.ymax };
		const lines = await overlayLines(img, this.opts.lines.map(l =>
			LINES[l]), def => def.pct === undefined ?
			ca.heatmap(this.inst, 'average', at) :
			ca.heatmap(this.inst, 'percentile',
				{ ...at, percentile: def.pct }));
		this.hm.setLines(lines);
	}

	drawLegend(img) {
		const unit = this.unit.name || 'events';
		const items = (img.maps || []).map(m => el('span', {
			'data-key': m.key === null ? '' : m.key, 'data-hue': m.hue },
		el('i', { style: `background:${hueColor(m.hue)}` }),
		m.key === null ? (this.discrete ? 'everything else' : `all ${unit}`) :
			m.key));
		const shade = el('span', { class: 'muted', text: this.opts.color ===
			'rank' ? 'darker: more (rank among non-empty cells)' :
			'darker: more (∝ count)' });
		this.legend.replaceChildren(...items, shade);
	}

	async details(x, y) {
		const p = { ...this.params(), start_time: this.img.start_time,
			ymax: this.img.ymax, x, y };
		try {
			const d = await ca.heatmap(this.inst, 'details', p);
			this.hm.setMarker({ time: d.bucket_time, ymin: d.bucket_ymin,
				ymax: d.bucket_ymax, duration: d.bucket_duration });
			const u = fieldUnit(desc, this.numeric);
			const parts = Object.entries(d.present || {})
				.sort((a, b) => b[1] - a[1]).slice(0, 6)
				.map(([k, n]) => `${k} ${n}`).join(', ');
			this.readout.textContent = `${fmtClock(d.bucket_time)} · ` +
				`${fieldLabel(this.numeric)} ${u.formatRange(d.bucket_ymin,
					d.bucket_ymax)}: ${d.total} ${this.unit.name ||
					'events'}` + (parts ? ` (${parts})` : '');
			this.readout.dataset.total = String(d.total);
		} catch (e) {
			this.readout.textContent = errText(e);
		}
	}

	colorOf(k) {
		if (!this.colors.has(k))
			this.colors.set(k, k === 'other' ? PALETTE[9] :
				PALETTE[this.colors.size % 9]);
		return this.colors.get(k);
	}

	async refreshChart() {
		const g = this.inst.granularity || 1;
		const n = Math.max(1, Math.ceil(time.dur / g));
		const w = win || timeWindow(time, agentNow());
		const last = Math.floor((w.end - 1) / g) * g;
		const pts = await ca.raw(this.inst, { start_time: last -
			(n - 1) * g, duration: g, ndatapoints: n });
		const times = pts.map(q => q.start_time);
		const total = new Map();
		for (const q of pts)
			if (this.discrete)
				for (const [k, v] of Object.entries(q.value || {}))
					total.set(k, (total.get(k) || 0) + v);
			else
				total.set('', (total.get('') || 0) + (q.value || 0));
		const ranked = [...total.entries()].sort((a, b) => b[1] - a[1])
			.map(e => e[0]);
		const get = (q, k) => this.discrete ? ((q.value || {})[k] || 0) :
			(typeof q.value === 'number' ? q.value : 0);
		const series = ranked.slice(0, MAX_SERIES).map(k => ({ key: k,
			label: k || this.metric.label, color: this.colorOf(k),
			values: pts.map(q => get(q, k)) }));
		const rest = ranked.slice(MAX_SERIES);
		if (rest.length)
			series.push({ key: 'other', label: `${rest.length} others`,
				color: this.colorOf('other'), values: pts.map(q =>
					rest.reduce((a, k) => a + get(q, k), 0)) });
		const born = Math.ceil((this.inst.crtime || 0) / 1000);
		const first = times.findIndex(t => t >= born);
		this.chart.opts.width = this.width() + LEFT + RIGHT;
		this.chart.setData({ times, from: first < 0 ? times.length : first,
			series });
		const sum = [...total.values()].reduce((a, b) => a + b, 0);
		this.root.dataset.blank = String(sum === 0);
		this.legend.replaceChildren(...series.map(s => el('span',
			{ 'data-key': s.key }, el('i', { style: `background:${s.color}` }),
			`${s.label} ${this.unit.format(s.values.reduce((a, b) => a + b,
				0) / Math.max(1, s.values.length))}/s`)));
		this.readout.textContent = sum === 0 ? whyNoData(status,
			this.def.metric, this.metric.label.toLowerCase(), this.inst,
			{ start: times[0] || w.start }) : '';
		this.body.dataset.drawn = String(times[times.length - 1]);
	}
}

// The analytics page's link for a panel's map.
function analyticsLink(p) {
	const q = new URLSearchParams();
	q.set('metric', p.def.metric);
	if (p.def.decomp.length)
		q.set('decomp', p.def.decomp.join(','));
	if (Object.keys(p.def.pred).length)
		q.set('pred', JSON.stringify(p.def.pred));
	if (p.inst)
		q.set('id', p.inst.id);
	encodeTime(q, time);
	return '#' + q.toString();
}

// ---- the page ----------------------------------------------------------

function removePanel(p) {
	const i = panels.indexOf(p);
	if (i < 0 || dash.panels.length <= 1)
		return;
	dash = { name: dash.name, panels: dash.panels.filter((_, j) => j !== i) };
	p.root.remove();
	panels.splice(i, 1);
	saveHash();
}

function saveHash() {
	history.replaceState(null, '', encode());
}

async function show(d) {
	dash = { name: d.name, panels: d.panels };
	time = d.time;
	timebar.show(time);
	$('#dash-title').textContent = d.name === 'default' ?
		'Default dashboard' : d.name;
	list = null;
	const box = $('#panels');
	panels = d.panels.map(def => new Panel(def, el('section',
		{ class: 'dpanel', 'data-metric': def.metric,
			'data-decomp': def.decomp.join(',') })));
	box.replaceChildren(...panels.map(p => p.root));
	for (const p of panels)
		await p.init().catch(e => {
			p.body.replaceChildren(el('p', { class: 'error',
				text: `Could not instrument: ${errText(e)}` }));
		});
	fillPicker();
	saveHash();
	document.body.dataset.ready = 'true';
}

function fillPicker() {
	const saved = Object.keys(loadSaved(storage(), key())).sort();
	const pick = $('#dash-pick');
	pick.replaceChildren(el('option', { value: 'default',
		text: 'Default dashboard' }), ...saved.map(n => el('option',
		{ value: n, text: n })));
	if (dash.name !== 'default' && !saved.includes(dash.name))
		pick.append(el('option', { value: dash.name,
			text: `${dash.name} (from a link)` }));
	pick.value = dash.name;
	$('#dash-delete').disabled = !saved.includes(dash.name);
	$('#dash-where').textContent = `saved in this browser for ` +
		(getTenant() ? `tenant ${getTenant()}` : 'the operator') +
		` on ${location.host}`;
}

async function restore() {
	$('#dash-error').hidden = true;
	let d;
	try {
		d = decode(location.hash);
	} catch (e) {
		$('#dash-error').textContent = `The link is damaged: ${e.message}; ` +
			'showing the default dashboard.';
		$('#dash-error').hidden = false;
		d = { name: 'default', panels: checkPanels(DEFAULT_PANELS),
			time: { dur: 300, end: null } };
	}
	await show(d);
}

function buildAddForm() {
	const sel = $('#add-metric');
	sel.replaceChildren(...desc.metrics.map(m => el('option',
		{ value: `${m.module}.${m.stat}`, text: `${m.label} ` +
			`(${m.module}.${m.stat})` })));
	const fill = () => {
		const m = desc.metrics.find(x => `${x.module}.${x.stat}` ===
			sel.value);
		const opt = f => el('option', { value: f, text: fieldLabel(f) });
		$('#add-disc').replaceChildren(el('option', { value: '',
			text: '— none —' }), ...m.fields.filter(f => !isNumeric(desc, f))
			.map(opt));
		$('#add-num').replaceChildren(el('option', { value: '',
			text: '— none —' }), ...m.fields.filter(f => isNumeric(desc, f))
			.map(opt));
	};
	sel.addEventListener('change', fill);
	fill();
	$('#dash-add').addEventListener('submit', async ev => {
		ev.preventDefault();
		const def = { title: '', metric: sel.value, decomp: [
			$('#add-disc').value, $('#add-num').value].filter(Boolean),
		pred: {}, opts: $('#add-disc').value && $('#add-num').value ?
			{ mode: 'all' } : {} };
		try {
			dash = { name: dash.name, panels: checkPanels([...dash.panels,
				def]) };
		} catch (e) {
			$('#dash-error').textContent = e.message;
			$('#dash-error').hidden = false;
			return;
		}
		const p = new Panel(dash.panels[dash.panels.length - 1],
			el('section', { class: 'dpanel', 'data-metric': def.metric,
				'data-decomp': def.decomp.join(',') }));
		panels.push(p);
		$('#panels').append(p.root);
		await p.init().catch(e => p.body.replaceChildren(el('p',
			{ class: 'error', text: errText(e) })));
		saveHash();
	});
}

function buildButtons() {
	$('#dash-pick').addEventListener('change', () => {
		const q = new URLSearchParams();
		q.set('name', $('#dash-pick').value);
		encodeTime(q, time);
		location.hash = '#' + q.toString();
	});
	$('#dash-save').addEventListener('click', () => {
		const name = (window.prompt('Save this dashboard as:',
			dash.name === 'default' ? '' : dash.name) || '').trim();
		if (!name || name === 'default')
			return;
		saveDashboard(storage(), key(), name, dash.panels);
		dash = { name, panels: dash.panels };
		$('#dash-title').textContent = name;
		fillPicker();
		saveHash();
	});
	$('#dash-delete').addEventListener('click', () => {
		deleteDashboard(storage(), key(), dash.name);
		location.hash = '#name=default';
	});
	$('#dash-share').addEventListener('click', async () => {
		try {
			await navigator.clipboard.writeText(location.href);
			$('#dash-share').textContent = 'Link copied';
		} catch (e) {
			window.prompt('Copy this link:', location.href);
		}
		setTimeout(() => {
			$('#dash-share').textContent = 'Copy link';
		}, 1500);
	});
}

async function statusTick() {
	status = await ca.status();
	clockOffset = status.now - Date.now() / 1000 + 0.5;
	const bits = [`agent ${location.host}`];
	if (status.replay)
		bits.push(`replaying ${status.replay.file.split('/').pop()}`);
	$('#agent-text').textContent = bits.join(' · ');
	$('#agent').classList.remove('down');
	const peers = status.peers || [];
	$('#peers').replaceChildren(...peers.map(p => el('a', { href: p.url,
		title: p.url, text: p.label })));
	$('#peers').hidden = peers.length === 0;
}

// The oldest second every panel still keeps.
function oldest() {
	const now = Math.floor(agentNow());
	let t = null;
	for (const p of panels)
		if (p.inst)
			t = Math.max(t === null ? 0 : t, Math.ceil((p.inst.crtime || 0) /
				1000), now - (p.inst['retention-time'] || 600));
	return t;
}

async function tick() {
	timebar.setOldest(oldest());
	win = timeWindow(time, agentNow());
	await Promise.all(panels.map(p => p.refresh().catch(e => {
		if (e instanceof Unreachable)
			throw e;
		p.readout.textContent = `The agent refused this map: ${errText(e)}`;
	})));
	document.body.dataset.drawn = String(Date.now());
}

async function main() {
	installBanner($('#banner'));
	installAccessBar($('#access'));
	watchReachability(ok => {
		$('#agent').classList.toggle('down', !ok);
		if (!ok)
			$('#agent-text').textContent = 'agent unreachable';
	});
	timebar = new TimeBar($('#timebar'), { now: agentNow, onChange: t => {
		time = t;
		saveHash();
		tick().catch(() => {});
	} });
	for (;;) {
		try {
			desc = await ca.describe();
			await statusTick();
			break;
		} catch (e) {
			if (isAuthError(e))
				return;
			if (!(e instanceof Unreachable))
				throw e;
			await new Promise(r => setTimeout(r, 1000));
		}
	}
	buildAddForm();
	buildButtons();
	poll(statusTick, 2000);
	await restore();
	window.addEventListener('hashchange', () => {
		if (location.hash !== encode())
			restore();
	});
	window.addEventListener('resize', () => tick().catch(() => {}));
	poll(tick, 1000);
}

main().catch(e => {
	$('#dash-error').textContent = `The page failed: ${errText(e)}`;
	$('#dash-error').hidden = false;
	console.error(e);
});
