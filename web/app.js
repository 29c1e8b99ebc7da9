// app.js - the analytics page: pick a metric, create an instrumentation,
// watch it live.
//
// Everything is driven by GET /ca: the metric list, which fields can break
// a metric down (discrete ones as keys, numeric ones as a heatmap's y
// axis), what a predicate may compare and in which unit.  The view's whole
// state (metric, decomposition, predicate, heatmap options, instrumentation
// id) lives in the URL hash, so a link restores it: on load the page reuses
// an instrumentation that measures the same thing, or creates one.

import { ca, ApiError, Unreachable, installBanner, poll, sameSpec,
	installAccessBar, isAuthError, removeOnLeave,
	watchReachability } from './ca.js';
import { fieldUnit, metricUnit, isNumeric, hueColor, fmtClock }
	from './units.js';
import { HeatmapView, overlayLines } from './heatmap.js';
import { LineChart } from './linechart.js';
import { LINES, REST_HUE, encodeHash, decodeHash, keyHues, mapDefaults,
	timeWindow, zoom } from './viewstate.js';
import { TimeBar } from './timebar.js';
import { el } from './dom.js';
import { whyNoData } from './sources.js';

const $ = sel => document.querySelector(sel);
const HM_HEIGHT = 300;
const RETENTION = 3600;		// what new instrumentations keep: an hour
const MAX_SERIES = 8;		// line chart keys before "other"
const PALETTE = ['#e8590c', '#1c7ed6', '#2f9e44', '#ae3ec9', '#f08c00',
	'#0c8599', '#e03131', '#5c7cfa', '#66a80f', '#868e96'];
const OPS = { eq: '=', ne: '≠', lt: '<', le: '≤', gt: '>', ge: '≥' };

let desc = null;		// GET /ca
const metrics = new Map();	// "module.stat" -> metric
let instns = [];
let view = null;
let clockOffset = 0;		// agent clock minus ours, seconds
let agentStatus = null;		// the last GET /ca/admin/status
let time = { dur: 60, end: null };	// the range shown (viewstate.js)
let timebar = null;

// ---- small helpers ---------------------------------------------------

function metricKey(m) {
	return m.module + '.' + m.stat;
}

function fieldLabel(f) {
	return (desc.fields[f] && desc.fields[f].label) || f;
}

function agentNow() {
	return Date.now() / 1000 + clockOffset;
}


// "pid = 145 and latency > 10 ms"
function predText(p, top = true) {
	const op = p && Object.keys(p)[0];
	if (!op)
		return '';
	if (op === 'and' || op === 'or') {
		const s = p[op].map(q => predText(q, false)).join(` ${op} `);
		return top ? s : `(${s})`;
	}
	const [f, v] = p[op];
	const shown = desc && isNumeric(desc, f) ?
		fieldUnit(desc, f).format(v) : v;
	return `${f} ${OPS[op] || op} ${shown}`;
}

function specTitle(spec) {
	const m = metrics.get(spec.module + '.' + spec.stat);
	const label = m ? m.label : `${spec.module}.${spec.stat}`;
	const d = spec.decomposition || [];
	return d.length ? `${label} by ${d.map(fieldLabel).join(' and ')}` :
		label;
}

// The options a view of spec opens with (viewstate.js: mapDefaults).
function defaultsFor(spec) {
	return mapDefaults(desc, spec.decomposition);
}

function errText(e) {
	if (e instanceof ApiError)
		return e.message + (e.param ? ` (parameter “${e.param}”)` : '');
	return e.message || String(e);
}

// ---- the form --------------------------------------------------------

let predJsonEdited = false;

function buildForm() {
	const sel = $('#metric');
	const groups = new Map();
	for (const m of desc.metrics) {
		metrics.set(metricKey(m), m);
		if (!groups.has(m.module)) {
			const mod = desc.modules[m.module];
			groups.set(m.module, el('optgroup',
				{ label: mod ? mod.label : m.module }));
		}
		groups.get(m.module).append(el('option', { value: metricKey(m),
			text: `${m.label} (${metricKey(m)})` }));
	}
	sel.replaceChildren(...groups.values());
	sel.addEventListener('change', () => metricChanged());
	$('#pred-add').addEventListener('click', () => addPredRow());
	$('#pred-join').addEventListener('change', () => syncPredJson());
	$('#pred-json').addEventListener('input', () => {
		predJsonEdited = true;
	});
	$('#create-form').addEventListener('submit', ev => {
		ev.preventDefault();
		createFromForm();
	});
	metricChanged();
}

function formMetric() {
	return metrics.get($('#metric').value);
}

function metricChanged() {
	const m = formMetric();
	const disc = m.fields.filter(f => !isNumeric(desc, f));
	const num = m.fields.filter(f => isNumeric(desc, f));
	const opt = f => el('option', { value: f, text: fieldLabel(f) });
	$('#decomp-discrete').replaceChildren(
		el('option', { value: '', text: '— none —' }), ...disc.map(opt));
	$('#decomp-numeric').replaceChildren(
		el('option', { value: '', text: '— none —' }),
		...num.map(opt));
	const unit = metricUnit(desc, m);
	const bits = [m.interval === 'point' ? 'a level' :
		`${unit.name || 'count'} per second`];
	if (m.source)
		bits.push(m.source);
	$('#metric-hint').textContent = bits.join(' · ');
	$('#pred-rows').replaceChildren();
	syncPredJson();
}

function addPredRow(leaf) {
	const m = formMetric();
	const field = el('select', { class: 'small', 'aria-label': 'field' },
		...m.fields.map(f => el('option', { value: f, text: fieldLabel(f),
			title: f })));
	const op = el('select', { class: 'small op', 'aria-label': 'operator' });
	const value = el('input', { type: 'text', class: 'small',
		'aria-label': 'value' });
	const row = el('div', { class: 'pred-row' }, field, op, value,
		el('button', { type: 'button', class: 'icon', title: 'remove',
			onclick: () => {
				row.remove();
				syncPredJson();
			} }, '×'));
	const setOps = () => {
		const numeric = isNumeric(desc, field.value);
		const keep = op.value;
		op.replaceChildren(...Object.entries(OPS)
			.filter(([k]) => numeric || k === 'eq' || k === 'ne')
			.map(([k, s]) => el('option', { value: k, text: s })));
		if ([...op.options].some(o => o.value === keep))
			op.value = keep;
		value.placeholder = numeric ?
			fieldUnit(desc, field.value).example() : 'value';
	};
	field.addEventListener('change', () => {
		setOps();
		syncPredJson();
	});
	op.addEventListener('change', syncPredJson);
	value.addEventListener('input', syncPredJson);
	if (leaf) {
		field.value = leaf.field;
		setOps();
		op.value = leaf.op;
		value.value = isNumeric(desc, leaf.field) ?
			fieldUnit(desc, leaf.field).format(leaf.value)
				.replace(/ /g, '') : leaf.value;
	} else {
		setOps();
	}
	$('#pred-rows').append(row);
	if (!leaf)
		value.focus();
	syncPredJson();
}

// The predicate the rows describe; throws with the offending input marked.
function predFromRows() {
	const leaves = [];
	for (const row of $('#pred-rows').children) {
		const [field, op, value] = row.querySelectorAll('select, input');
		value.classList.remove('bad');
		if (value.value.trim() === '')
			continue;
		let v = value.value.trim();
		if (isNumeric(desc, field.value)) {
			const u = fieldUnit(desc, field.value);
			v = u.parse(v);
			if (Number.isNaN(v)) {
				value.classList.add('bad');
				throw new Error(`${field.value}: “${value.value}” is ` +
					`not a ${u.kind} (${u.example()})`);
			}
		}
		leaves.push({ [op.value]: [field.value, v] });
	}
	if (leaves.length === 0)
		return {};
	if (leaves.length === 1)
		return leaves[0];
	return { [$('#pred-join').value]: leaves };
}

function syncPredJson() {
	predJsonEdited = false;
	try {
		$('#pred-json').value = JSON.stringify(predFromRows());
	} catch (e) {
		/* shown on submit */
	}
}

function formSpec() {
	const m = formMetric();
	const decomposition = [$('#decomp-discrete').value,
		$('#decomp-numeric').value].filter(Boolean);
	let predicate;
	if (predJsonEdited) {
		const text = $('#pred-json').value.trim();
		try {
			predicate = text ? JSON.parse(text) : {};
		} catch (e) {
			throw new ApiError(400, { param: 'predicate',
				message: `the predicate is not valid JSON: ${e.message}` });
		}
	} else {
		predicate = predFromRows();
	}
	return { module: m.module, stat: m.stat, decomposition, predicate };
}

// Shows spec in the form (after a link is opened).
function setFormSpec(spec) {
	const key = spec.module + '.' + spec.stat;
	if (!metrics.has(key))
		return;
	$('#metric').value = key;
	metricChanged();
	for (const f of spec.decomposition) {
		const s = isNumeric(desc, f) ? '#decomp-numeric' : '#decomp-discrete';
		if ([...$(s).options].some(o => o.value === f))
			$(s).value = f;
	}
	const p = spec.predicate || {};
	const op = Object.keys(p)[0];
	const flat = !op ? [] : (op === 'and' || op === 'or') ? p[op] : [p];
	const leaves = flat.map(q => {
		const o = Object.keys(q)[0];
		return OPS[o] && Array.isArray(q[o]) ?
			{ op: o, field: q[o][0], value: q[o][1] } : null;
	});
	if (leaves.every(Boolean)) {
		if (op === 'and' || op === 'or')
			$('#pred-join').value = op;
		leaves.forEach(l => addPredRow(l));
	} else {
		$('#pred-json').value = JSON.stringify(p);
		predJsonEdited = true;
		$('#pred-json').closest('details').open = true;
	}
}

function showCreateError(e) {
	const box = $('#create-error');
	document.querySelectorAll('[data-param].bad-param')
		.forEach(x => x.classList.remove('bad-param'));
	if (!e) {
		box.hidden = true;
		return;
	}
	box.textContent = errText(e);
	box.hidden = false;
	if (e.param)
		document.querySelectorAll('[data-param]').forEach(x => {
			if (x.dataset.param.split(' ').includes(e.param))
				x.classList.add('bad-param');
		});
}

async function createFromForm() {
	showCreateError(null);
	let spec;
	try {
		spec = formSpec();
	} catch (e) {
		showCreateError(e instanceof ApiError ? e :
			new ApiError(400, { param: 'predicate', message: e.message }));
		return;
	}
	$('#create').disabled = true;
	try {
		const inst = await ca.create({ ...spec,
			'retention-time': RETENTION });
		await refreshList();
		openView(inst, null, true);
	} catch (e) {
		showCreateError(e instanceof Unreachable ?
			new Error('the agent is unreachable') : e);
	} finally {
		$('#create').disabled = false;
	}
}

// ---- the list of instrumentations ------------------------------------

async function refreshList() {
	instns = await ca.list();
	instns.sort((a, b) => Number(a.id) - Number(b.id) ||
		String(a.id).localeCompare(String(b.id)));
	$('#list-count').textContent = instns.length ? `${instns.length}` : '';
	const items = instns.map(inst => {
		const d = inst.decomposition.length ?
			'by ' + inst.decomposition.join(', ') : 'total';
		const pred = predText(inst.predicate);
		return el('li', { class: 'instn' + (view && view.inst.id ===
			inst.id ? ' current' : ''), 'data-id': inst.id },
		el('button', { type: 'button', class: 'open', title: 'show',
			onclick: () => openView(inst, null, true) },
		el('span', { class: 'title' }, el('span', { class: 'id',
			text: `#${inst.id}` }), specTitle(inst)),
		el('span', { class: 'meta', text: `${inst.module}.${inst.stat}` +
				` · ${d}` + (pred ? ` · where ${pred}` : '') })),
		el('span', { class: 'acts' },
			el('button', { type: 'button', class: 'small clone',
				title: 'a copy with the same definition',
				onclick: () => cloneInstn(inst) }, 'Clone'),
			el('button', { type: 'button', class: 'small danger del',
				title: 'stop collecting and forget it',
				onclick: () => deleteInstn(inst) }, 'Delete')));
	});
	$('#list').replaceChildren(...(items.length ? items :
		[el('li', { class: 'empty muted', text: 'None yet.' })]));
}

async function cloneInstn(inst) {
	try {
		const copy = await ca.clone(inst);
		await refreshList();
		openView(copy, view && view.inst.id === inst.id ?
			{ ...view.opts } : null, true);
	} catch (e) {
		alertNote(`Could not clone #${inst.id}: ${errText(e)}`);
	}
}

async function deleteInstn(inst) {
	try {
		await ca.remove(inst);
	} catch (e) {
		if (!(e instanceof ApiError && e.status === 404)) {
			alertNote(`Could not delete #${inst.id}: ${errText(e)}`);
			return;
		}
	}
	if (view && view.inst.id === inst.id) {
		closeView();
		history.pushState(null, '', location.pathname);
	}
	await refreshList();
}

function alertNote(text) {
	const n = $('#view-note');
	n.textContent = text;
	n.hidden = !text;
}

// ---- opening a view --------------------------------------------------

function closeView() {
	if (view)
		view.destroy();
	view = null;
	$('#view').hidden = true;
	$('#placeholder').hidden = false;
}

function openView(inst, opts, push) {
	closeView();
	$('#placeholder').hidden = true;
	$('#placeholder-error').hidden = true;
	view = new View(inst, opts);
	const hash = view.hash();
	if (push)
		history.pushState(null, '', hash);
	else
		history.replaceState(null, '', hash);
	document.querySelectorAll('#list .instn').forEach(li =>
		li.classList.toggle('current', li.dataset.id === inst.id));
}

// An instrumentation measuring spec: the one the link named, another
// that measures the same, or a new one.
async function findOrCreate(spec, id) {
	const list = await ca.list();
	return list.find(i => i.id === id && sameSpec(i, spec)) ||
		list.find(i => sameSpec(i, spec)) ||
		await ca.create({ ...spec, 'retention-time': RETENTION });
}

let restoring = '';
async function restoreFromHash() {
	const hash = location.hash;
	if (view && view.hash() === hash)
		return;
	if (restoring === hash)
		return;
	restoring = hash;
	try {
		let h;
		try {
			h = decodeHash(hash, defaultsFor);
		} catch (e) {
			throw new Error(`the link is damaged: ${e.message}`);
		}
		if (!h) {
			closeView();
			return;
		}
		if (!metrics.has(h.spec.module + '.' + h.spec.stat))
			throw new Error(`this agent has no metric ` +
				`${h.spec.module}.${h.spec.stat}`);
		setFormSpec(h.spec);
		time = h.time;
		timebar.show(time);
		const inst = await findOrCreate(h.spec, h.id);
		await refreshList();
		openView(inst, h.opts, false);
	} catch (e) {
		closeView();
		$('#placeholder-error').textContent =
			`Could not restore the view: ${errText(e)}`;
		$('#placeholder-error').hidden = false;
	} finally {
		restoring = '';
	}
}

// ---- the live view ---------------------------------------------------

class View {
	constructor(inst, opts) {
		this.inst = inst;
		this.defaults = defaultsFor(inst);
		this.opts = { ...this.defaults, ...(opts || {}) };
		this.spec = { module: inst.module, stat: inst.stat,
			decomposition: inst.decomposition, predicate: inst.predicate };
		this.metric = metrics.get(inst.module + '.' + inst.stat);
		this.discrete = inst.decomposition.find(f => !isNumeric(desc, f));
		this.numeric = inst.decomposition.find(f => isNumeric(desc, f));
		this.unit = metricUnit(desc, this.metric || {});
		this.recreated = false;
		this.colors = new Map();
		this.hidden = new Set();
		this.cleanup = [];
		$('#view').hidden = false;
		$('#view-title').textContent = specTitle(inst);
		const pred = predText(inst.predicate);
		$('#view-sub').textContent = [`${inst.module}.${inst.stat}`,
			`instrumentation #${inst.id}`, pred ? `where ${pred}` : '',
			`${inst.granularity || 1} s per column, kept ` +
			`${Math.round((inst['retention-time'] || 600) / 60)} min`]
			.filter(Boolean).join(' · ');
		alertNote('');
		$('#share').onclick = () => this.share();
		$('#hm-panel').hidden = !this.numeric;
		$('#lc-panel').hidden = !!this.numeric;
		if (this.numeric)
			this.initHeatmap();
		else
			this.initChart();
		this.stop = poll(() => this.refresh(), 1000);
	}

	destroy() {
		this.stop();
		for (const f of this.cleanup)
			f();
	}

	hash() {
		return encodeHash(this.spec, this.opts, this.inst.id,
			this.defaults, time);
	}

	saveHash() {
		history.replaceState(null, '', this.hash());
	}

	// This view on host name's own agent (fleet drill-down): the share
	// link, minus the id, filtered to that host; null off a fleet.
	hostLink(name) {
		const agent = hostAgent(name);
		if (!agent)
			return null;
		const eq = { eq: ['hostname', name] };
		const p = this.spec.predicate || {};
		const predicate = !Object.keys(p).length ? eq :
			predHost(p) === name ? p : { and: [p, eq] };
		return agent.replace(/\/*$/, '/') + encodeHash({ ...this.spec,
			predicate }, this.opts, null, this.defaults, time);
	}

	async share() {
		const url = location.href;
		try {
			await navigator.clipboard.writeText(url);
			$('#share').textContent = 'Link copied';
		} catch (e) {
			window.prompt('Copy this link:', url);
		}
		setTimeout(() => {
			$('#share').textContent = 'Copy link';
		}, 1500);
	}

	// The oldest second the agent still keeps for this view.
	oldest() {
		return Math.max(Math.ceil((this.inst.crtime || 0) / 1000),
			Math.floor(agentNow()) - (this.inst['retention-time'] || 600));
	}

	// The time parameters of the range shown: live, the latest complete
	// interval (the agent's default); paused, from its start.
	timeParams() {
		const g = this.inst.granularity || 1;
		if (time.end === null)
			return { duration: Math.ceil(time.dur / g) * g };
		const w = timeWindow(time, agentNow());
		return { start_time: w.start, duration: Math.ceil(w.dur / g) * g };
	}

	async refresh() {
		if (timebar)
			timebar.setOldest(this.oldest());
		try {
			if (this.numeric)
				await this.refreshHeatmap();
			else
				await this.refreshChart();
		} catch (e) {
			if (e instanceof ApiError && e.status === 404 &&
				e.param === 'id' && !this.recreated) {
				await this.recreate();
				return;
			}
			throw e;
		}
	}

	// The instrumentation vanished (deleted elsewhere, or the agent
	// restarted): make it again from its definition, once.
	async recreate() {
		this.recreated = true;
		const old = this.inst.id;
		this.inst = await findOrCreate(this.spec, null);
		this.saveHash();
		$('#view-sub').textContent = $('#view-sub').textContent
			.replace(`#${old}`, `#${this.inst.id}`);
		alertNote(`Instrumentation #${old} was gone (was the agent ` +
			`restarted?), so the same definition was created again as ` +
			`#${this.inst.id}.`);
		if (this.hm) {
			this.hm.setMarker(null);
			$('#details').replaceChildren(el('p', { class: 'muted',
				text: 'Click a cell of the heatmap.' }));
		}
		await refreshList();
	}

	// ---- heatmap ----

	initHeatmap() {
		const root = $('#heatmap');
		root.replaceChildren();
		this.hm = new HeatmapView(root, {
			unit: fieldUnit(desc, this.numeric),
			label: fieldLabel(this.numeric),
			countName: this.unit.name || 'events',
			onCellClick: (x, y) => this.details(x, y),
			onHover: cell => this.readout(cell),
			onSelectRange: (t0, t1) => timebar.set(zoom(t0, t1,
				agentNow())),
			onPan: frac => timebar.step(frac),
			fetchGrid: img => ca.heatmap(this.inst, 'grid', {
				...this.hmParams(), start_time: img.start_time,
				duration: img.duration, ymax: img.ymax }),
		});
		this.hm.showEmpty('Waiting for the first data…');
		$('#tool-mode').hidden = !this.discrete;
		$('#details').replaceChildren(el('p', { class: 'muted',
			text: 'Click a cell of the heatmap.' }));
		$('#legend').replaceChildren();
		$('#hm-error').hidden = true;
		for (const seg of document.querySelectorAll('#toolbar .seg')) {
			const opt = seg.dataset.opt;
			for (const b of seg.querySelectorAll('button'))
				b.onclick = () => this.setOpt(opt, b.dataset.v);
		}
		const ymax = $('#ymax');
		ymax.value = this.opts.ymax;
		ymax.onchange = () => this.setOpt('ymax', ymax.value.trim());
		this.syncToolbar();
		const onResize = () => this.refreshSoon();
		window.addEventListener('resize', onResize);
		this.cleanup.push(() => window.removeEventListener('resize',
			onResize));
	}

	syncToolbar() {
		for (const seg of document.querySelectorAll('#toolbar .seg')) {
			const cur = this.opts[seg.dataset.opt];
			for (const b of seg.querySelectorAll('button'))
				b.setAttribute('aria-pressed', String(Array.isArray(cur) ?
					cur.includes(b.dataset.v) : cur === b.dataset.v));
		}
	}

	setOpt(opt, v) {
		if (opt === 'lines') {
			const s = new Set(this.opts.lines);
			if (s.has(v))
				s.delete(v);
			else
				s.add(v);
			this.opts.lines = Object.keys(LINES).filter(l => s.has(l));
		} else {
			this.opts[opt] = v;
		}
		this.syncToolbar();
		this.saveHash();
		this.refreshSoon();
	}

	refreshSoon() {
		clearTimeout(this.soon);
		this.soon = setTimeout(() => this.refresh().catch(e => {
			if (!(e instanceof Unreachable))
				console.error(e);
		}), 30);
	}

	// Heatmap parameters shared by image, details and the lines.
	hmParams() {
		const o = this.opts;
		// The panel less the axis, label and line-label columns.
		const avail = $('#hm-panel').clientWidth - 18 - 54 - 96 - 4;
		const tp = this.timeParams();
		const p = {
			width: HeatmapView.fitWidth(avail, tp.duration /
				(this.inst.granularity || 1)),
			height: HM_HEIGHT, nbuckets: o.nb, coloring: o.color,
			scale: o.scale, ...tp,
		};
		if (o.ymax) {
			const y = fieldUnit(desc, this.numeric).parse(o.ymax);
			if (!Number.isNaN(y))
				p.ymax = Math.round(y);
		}
		if (this.discrete) {
			// With decompose_all the agent selects every key present;
			// spare hues cover keys that appear since the last image.
			const n = o.mode === 'all' ? (this.img && this.img.present ?
				this.img.present.length : 0) + 8 : o.sel.length;
			if (o.mode === 'all')
				p.decompose_all = 'true';
			else if (o.sel.length)
				p.selected = o.sel;
			if (o.mode === 'isolate')
				p.isolate = 'true';
			if (o.mode === 'exclude')
				p.exclude = 'true';
			if (n)
				p.hues = keyHues(n, o.mode === 'isolate');
		}
		return p;
	}

	async refreshHeatmap() {
		const p = this.hmParams();
		let img;
		try {
			img = await ca.heatmap(this.inst, 'image', p);
		} catch (e) {
			if (e instanceof ApiError && e.param !== 'id') {
				$('#hm-error').textContent =
					`The agent refused this heatmap: ${errText(e)}`;
				$('#hm-error').hidden = false;
				return;
			}
			throw e;
		}
		$('#hm-error').hidden = true;
		if (this !== view)
			return;
		await this.hm.draw(img);
		this.img = img;
		this.hm.showEmpty(this.hm.blank ? whyNoData(agentStatus,
			`${this.inst.module}.${this.inst.stat}`, this.metric ?
				this.metric.label.toLowerCase() : 'data', this.inst,
			{ start: img.start_time,
				end: img.start_time + img.duration,
				live: time.end === null }) : null);
		this.drawLegend(img);
		const at = { ...p, start_time: img.start_time, ymax: img.ymax };
		const lines = await overlayLines(img, this.opts.lines.map(l =>
			LINES[l]), def => def.pct === undefined ?
			ca.heatmap(this.inst, 'average', at) :
			ca.heatmap(this.inst, 'percentile',
				{ ...at, percentile: def.pct }));
		if (this === view)
			this.hm.setLines(lines);
	}

	hueOf(img, key) {
		const m = (img.maps || []).find(x => x.key === key);
		return m ? m.hue : null;
	}

	drawLegend(img) {
		const o = this.opts, items = [];
		const unitName = this.unit.name || 'events';
		const ramp = hue => el('span', { class: 'ramp', style:
			`background: linear-gradient(90deg, #fff, ${hueColor(hue, 0.3)},
			${hueColor(hue, 1)})` });
		const rest = this.hueOf(img, null);
		if (rest !== null) {
			const label = !this.discrete || (!o.sel.length &&
				o.mode !== 'all') ? `all ${unitName}` :
				o.mode === 'exclude' ? 'all but the selected' :
					'everything else';
			items.push(el('div', { class: 'key rest', 'data-hue': rest },
				el('i', { class: 'swatch', style:
					`background:${hueColor(rest)}` }),
				el('span', { text: label })));
		}
		if (this.discrete) {
			const keys = [...new Set([...(img.present || []),
				...o.sel])].sort();
			for (const k of keys) {
				const hue = this.hueOf(img, k);
				const selected = o.sel.includes(k) || o.mode === 'all';
				const absent = !(img.present || []).includes(k);
				items.push(el('button', { type: 'button', class: 'key' +
					(absent ? ' absent' : ''), 'data-key': k,
				'data-hue': hue === null ? undefined : hue,
				'aria-pressed': String(selected),
				disabled: o.mode === 'all',
				title: o.mode === 'all' ? 'every key has a hue in ' +
					'this mode' : selected ? 'click to deselect' :
					'click to select',
				onclick: () => this.toggleKey(k) },
				el('i', { class: 'swatch', style: hue === null ? '' :
					`background:${hueColor(hue)}` }),
				el('span', { text: k + (absent ? ' (none now)' : '') })));
			}
			if (!keys.length)
				items.push(el('p', { class: 'muted',
					text: `No ${fieldLabel(this.discrete)} seen in ` +
						'this range.' }));
			else if (o.mode === 'isolate' && !o.sel.length)
				items.push(el('p', { class: 'muted',
					text: 'Select keys to isolate them.' }));
		}
		const scale = el('div', { class: 'scale' },
			el('span', { text: 'fewer' }), ramp(rest !== null ? rest :
				(img.maps[0] ? img.maps[0].hue : REST_HUE)),
			el('span', { text: 'more' }),
			el('span', { class: 'muted', text: o.color === 'rank' ?
				' shade = rank among non-empty cells' :
				' shade ∝ count' }));
		const lines = o.lines.length ? el('p', { class: 'lines-note',
			text: `Lines: ${o.lines.map(l => LINES[l].label).join(', ')}` +
				` of all ${unitName} per column, estimated from the ` +
				`agent's buckets.` }) : '';
		$('#legend').replaceChildren(el('div', { class: 'keys-list' },
			...items), scale, lines);
	}

	toggleKey(k) {
		const s = new Set(this.opts.sel);
		if (s.has(k))
			s.delete(k);
		else
			s.add(k);
		this.opts.sel = [...s].sort();
		this.saveHash();
		this.refreshSoon();
	}

	readout(cell) {
		const r = $('#readout');
		if (!cell) {
			r.textContent = 'Click a cell for the counts behind it.';
			return;
		}
		r.textContent = `${this.hm.describe(cell)} · click or Enter ` +
			'for details';
	}

	async details(x, y) {
		if (!this.img)
			return;
		const p = { ...this.hmParams(), start_time: this.img.start_time,
			ymax: this.img.ymax, x, y };
		const box = $('#details');
		let d;
		try {
			d = await ca.heatmap(this.inst, 'details', p);
		} catch (e) {
			box.replaceChildren(el('p', { class: 'error',
				text: errText(e) }));
			return;
		}
		this.hm.setMarker({ time: d.bucket_time, ymin: d.bucket_ymin,
			ymax: d.bucket_ymax, duration: d.bucket_duration });
		const u = fieldUnit(desc, this.numeric);
		const unitName = this.unit.name || 'events';
		const rows = Object.entries(d.present || {})
			.sort((a, b) => b[1] - a[1]);
		const max = rows.length ? rows[0][1] : 1;
		const table = el('table', { class: 'counts' },
			...rows.map(([k, n]) => {
				const hue = this.hueOf(this.img, k);
				return el('tr', { 'data-key': k },
					el('td', {}, el('i', { class: 'swatch', style:
						hue === null ? '' :
							`background:${hueColor(hue)}` }),
					this.keyLabel(k, k)),
					el('td', { class: 'num', text: String(n) }),
					el('td', { class: 'bar' }, el('span', { style:
						`width:${Math.max(2, n / max * 100)}%` })));
			}));
		const pinned = predHost(this.spec.predicate);
		const pinLink = pinned ? this.hostLink(pinned) : null;
		box.replaceChildren(
			pinLink ? el('p', {}, el('a', { href: pinLink,
				class: 'host-link', text: `Open on ${pinned}'s agent` })) :
				'',
			el('div', { class: 'details-head' },
				el('b', { text: fmtClock(d.bucket_time) }),
				el('span', { text: ` · ${fieldLabel(this.numeric)} ` +
					u.formatRange(d.bucket_ymin, d.bucket_ymax) })),
			el('div', { class: 'details-total' },
				el('span', { class: 'big', 'data-total': d.total,
					text: String(d.total) }),
				el('span', { text: ` ${unitName} in this cell` })),
			rows.length ? table : el('p', { class: 'muted', text:
				this.discrete ? 'Nothing in this cell.' : '' }));
	}

	// ---- line chart ----

	initChart() {
		const root = $('#linechart');
		root.replaceChildren();
		this.chart = new LineChart(root, { unit: this.unit, height: 300,
			onSelectRange: (t0, t1) => timebar.set(zoom(t0, t1,
				agentNow())) });
		$('#lc-legend').replaceChildren();
		$('#lc-error').hidden = true;
		const onResize = () => this.chart.draw();
		window.addEventListener('resize', onResize);
		this.cleanup.push(() => window.removeEventListener('resize',
			onResize));
	}

	colorOf(k) {
		if (!this.colors.has(k))
			this.colors.set(k, k === 'other' ? PALETTE[9] :
				PALETTE[this.colors.size % 9]);
		return this.colors.get(k);
	}

	async refreshChart() {
		// CA's latest complete point starts at now - 2 (one granularity
		// is left for late data); ask for the minute ending there.
		const g = this.inst.granularity || 1;
		const n = Math.max(1, Math.ceil(time.dur / g));
		const last = time.end === null ?
			Math.floor(agentNow() / g) * g - 2 * g :
			Math.floor((timeWindow(time, agentNow()).end - 1) / g) * g;
		const pts = await ca.raw(this.inst, { start_time: last -
			(n - 1) * g, duration: g, ndatapoints: n });
		if (this !== view)
			return;
		const times = pts.map(p => p.start_time);
		const total = new Map();
		const get = (p, k) => this.discrete ? ((p.value || {})[k] || 0) :
			(typeof p.value === 'number' ? p.value : 0);
		if (this.discrete) {
			for (const p of pts)
				for (const [k, v] of Object.entries(p.value || {}))
					total.set(k, (total.get(k) || 0) + v);
		} else {
			total.set('', 0);
		}
		const ranked = [...total.entries()].sort((a, b) => b[1] - a[1])
			.map(e => e[0]);
		const shown = ranked.slice(0, MAX_SERIES);
		const rest = ranked.slice(MAX_SERIES);
		const label = this.discrete ? null : `${this.metric.label}`;
		const series = shown.map(k => ({ key: k, label: label || k,
			color: this.colorOf(label ? 'total' : k),
			values: pts.map(p => get(p, k)) }));
		if (rest.length)
			series.push({ key: 'other', label: `${rest.length} others`,
				color: this.colorOf('other'),
				values: pts.map(p => rest.reduce((a, k) => a + get(p, k),
					0)) });
		// Biggest at the bottom (the steadiest baseline), "other" on top.
		// The creation second is partial: start at the first full one.
		const born = Math.ceil((this.inst.crtime || 0) / 1000);
		const first = times.findIndex(t => t >= born);
		const from = first < 0 ? times.length : first;
		this.chart.setData({ times, from, series: series.filter(s =>
			!this.hidden.has(s.key)) });
		this.drawChartLegend(series, from);
		$('#linechart').dataset.drawn = String(times[times.length - 1]);
	}

	// A key's label: on a fleet, a hostname key links to this view on
	// that host's agent (a click there opens it, not hides the series).
	keyLabel(key, label) {
		const link = this.discrete === 'hostname' ? this.hostLink(key) :
			null;
		return link ? el('a', { href: link, class: 'host-link',
			title: `this view on ${key}'s agent`, text: label,
			onclick: ev => ev.stopPropagation() }) :
			el('span', { text: label });
	}

	drawChartLegend(series, from) {
		const u = this.unit;
		const rows = series.map(s => {
			const vals = s.values.slice(from);
			const now = vals[vals.length - 1] || 0;
			const mean = vals.reduce((a, b) => a + b, 0) /
				Math.max(1, vals.length);
			const max = Math.max(0, ...vals);
			const off = this.hidden.has(s.key);
			return el('tr', { class: off ? 'off' : '', 'data-key': s.key,
				title: off ? 'click to show' : 'click to hide',
				onclick: () => {
					if (off)
						this.hidden.delete(s.key);
					else
						this.hidden.add(s.key);
					this.refreshSoon();
				} },
			el('td', {}, el('i', { class: 'swatch',
				style: `background:${s.color}` }),
			this.keyLabel(s.key, s.label)),
			el('td', { class: 'num', text: u.format(now) }),
			el('td', { class: 'num', text: u.format(mean) }),
			el('td', { class: 'num', text: u.format(max) }));
		});
		const what = this.metric.interval === 'point' ? '' : '/s';
		$('#lc-legend').replaceChildren(el('thead', {}, el('tr', {},
			el('th', { text: this.discrete ? fieldLabel(this.discrete) :
				'' }),
			el('th', { class: 'num', text: `latest${what}` }),
			el('th', { class: 'num', text: `mean${what}` }),
			el('th', { class: 'num', text: `max${what}` }))),
		el('tbody', {}, ...rows));
	}
}

// ---- agent status ----------------------------------------------------

async function statusTick() {
	const s = await ca.status();
	agentStatus = s;
	clockOffset = s.now - Date.now() / 1000 + 0.5;
	const bits = [`agent ${location.host}`];
	if (s.replay)
		bits.push(`replaying ${s.replay.file.split('/').pop()}`);
	$('#agent-text').textContent = bits.join(' · ');
	$('#agent').classList.remove('down');
	showPeers(s.peers || []);
	showHosts(s.fleet ? s.fleet.hosts || [] : null);
}

// A fleet's hosts (kvmscope fleet): how many report, which are stale, each
// a link to its own agent.  An agent's status has no fleet: nothing shown.
let hostsShown = '';
function showHosts(hosts) {
	const key = JSON.stringify(hosts);
	if (key === hostsShown)
		return;
	hostsShown = key;
	$('#hosts-card').hidden = !hosts;
	if (!hosts)
		return;
	const stale = hosts.filter(h => !h.reporting).length;
	$('#hosts-count').textContent =
		`${hosts.length - stale} reporting · ${stale} stale`;
	$('#hosts').replaceChildren(...hosts.map(h => el('li', {
		class: h.reporting ? 'host' : 'host stale',
		'data-host': h.hostname }, h.agent ?
		el('a', { href: h.agent, title: h.agent, text: h.hostname }) :
		el('span', { text: h.hostname }),
	h.reporting ? '' : el('span', { class: 'muted', text: ' stale' }))));
}

// The agent's URL of a fleet's host, or null (an agent, an unknown host).
function hostAgent(name) {
	const hosts = agentStatus && agentStatus.fleet &&
		agentStatus.fleet.hosts || [];
	const h = hosts.find(x => x.hostname === name);
	return h && h.agent ? h.agent : null;
}

// The host a predicate pins, {"eq":["hostname",NAME]} alone or in an
// "and", or null.
function predHost(pred) {
	if (pred && Array.isArray(pred.eq) && pred.eq[0] === 'hostname')
		return String(pred.eq[1]);
	for (const p of (pred && pred.and) || []) {
		const h = predHost(p);
		if (h)
			return h;
	}
	return null;
}

// The other hosts' agents (serve --peers), as links; operators only: a
// tenant's status has no peers.
let peersShown = '';
function showPeers(peers) {
	const key = JSON.stringify(peers);
	if (key === peersShown)
		return;
	peersShown = key;
	const nav = $('#peers');
	nav.replaceChildren(...peers.map(p =>
		el('a', { href: p.url, title: p.url, text: p.label })));
	nav.hidden = peers.length === 0;
}

async function loadDescription() {
	for (;;) {
		try {
			return await ca.describe();
		} catch (e) {
			// A refused token: the access bar says so; saving a new
			// one reloads the page.
			if (isAuthError(e))
				await new Promise(() => {});
			if (!(e instanceof Unreachable))
				throw e;
			await new Promise(r => setTimeout(r, 1000));
		}
	}
}

async function main() {
	installBanner($('#banner'));
	installAccessBar($('#access'));
	watchReachability(ok => {
		$('#agent').classList.toggle('down', !ok);
		if (!ok)
			$('#agent-text').textContent = 'agent unreachable';
	});
	poll(statusTick, 1000);
	timebar = new TimeBar($('#timebar'), { now: agentNow, onChange: t => {
		time = t;
		if (view) {
			view.saveHash();
			view.refreshSoon();
		}
	} });
	desc = await loadDescription();
	buildForm();
	await refreshList().catch(() => {});
	poll(refreshList, 5000);
	window.addEventListener('popstate', () => restoreFromHash());
	window.addEventListener('hashchange', () => restoreFromHash());
	await restoreFromHash();
	document.body.dataset.ready = 'true';
}

main().catch(e => {
	$('#placeholder-error').textContent = `The page failed: ${errText(e)}`;
	$('#placeholder-error').hidden = false;
	console.error(e);
});
