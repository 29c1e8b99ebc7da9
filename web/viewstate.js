// viewstate.js - a view's whole state in the URL hash, and back.
//
// The hash is what makes a view shareable: the metric, decomposition and
// predicate say what to measure (enough to recreate the instrumentation on
// another agent, or after a restart), the options say how to draw it, and
// the id says which instrumentation to reuse if it still measures the same
// thing, and the time range (t: seconds shown, end: the last second when
// paused; none: live) says when.  Options at their defaults are left out
// to keep links short; the defaults depend on the map (mapDefaults), so
// a latency map opens in log scale and a subsecond map at 0-1 s.

export const DEFAULTS = { sel: [], mode: 'highlight', color: 'rank',
	scale: 'linear', nb: '50', ymax: '', lines: ['p50', 'p99'] };
const CHOICES = {
	mode: ['highlight', 'isolate', 'exclude', 'all'],
	color: ['rank', 'linear'],
	scale: ['linear', 'log'],
	nb: ['25', '50', '100'],
};
export const LINES = {
	p50: { label: 'p50', pct: 0.5, color: '#1d4ed8' },
	p90: { label: 'p90', pct: 0.9, color: '#7c3aed' },
	p99: { label: 'p99', pct: 0.99, color: '#be123c' },
	mean: { label: 'mean', color: '#047857' },
};

// The options a map opens with: readable defaults for what it shows.
//  - latency (a time field, not an offset within the second): log rows,
//    p50 and p99 lines;
//  - subsecond offsets: fixed to 0-1 s, no lines (a percentile of an
//    offset within the second means nothing);
//  - byte offsets on a disk: no lines; sizes: p50 and p99;
//  - by guest cr3 (vmmmuctx): no lines: the point is the keys' shares.
// desc is GET /ca; decomposition the instrumentation's.
export function mapDefaults(desc, decomposition) {
	const d = { ...DEFAULTS, lines: [...DEFAULTS.lines] };
	const fields = (desc && desc.fields) || {};
	const num = (decomposition || []).find(f => fields[f] &&
		desc.types[fields[f].type] &&
		desc.types[fields[f].type].arity === 'numeric');
	const disc = (decomposition || []).find(f => f !== num);
	if (!num)
		return d;
	const type = fields[num].type;
	if (type === 'subsecond') {
		d.ymax = '1s';
		d.lines = [];
	} else if (type === 'time') {
		d.scale = 'log';
	} else if (num === 'offset' || num === 'gpa') {
		d.lines = [];
	}
	if (disc === 'vmmmuctx')
		d.lines = [];
	return d;
}

// Time ranges: the last N seconds (live) or N seconds ending at end.
export const RANGES = [60, 300, 900, 3600];
export const RANGE_MIN = 10;
export const RANGE_MAX = 3600;	// the API's longest duration

// {dur, end} from the hash's t and end; throws on nonsense.
export function decodeTime(q) {
	const t = { dur: 60, end: null };
	if (q.has('t')) {
		const v = Number(q.get('t'));
		if (!Number.isInteger(v) || v < RANGE_MIN || v > RANGE_MAX)
			throw new Error(`t must be whole seconds from ${RANGE_MIN} ` +
				`to ${RANGE_MAX}, not “${q.get('t')}”`);
		t.dur = v;
	}
	if (q.has('end')) {
		const v = Number(q.get('end'));
		if (!Number.isInteger(v) || v <= 0)
			throw new Error(`end must be a unix time in seconds, not ` +
				`“${q.get('end')}”`);
		t.end = v;
	}
	return t;
}

export function encodeTime(q, time) {
	if (!time)
		return;
	if (time.dur !== 60)
		q.set('t', String(time.dur));
	if (time.end !== null && time.end !== undefined)
		q.set('end', String(time.end));
}

// The interval shown: [start, start + dur) ending at the paused end, or
// at the latest complete second (now - 1) when live; start >= 0.
export function timeWindow(time, now) {
	const end = time.end === null || time.end === undefined ?
		Math.floor(now) - 1 : Math.min(time.end, Math.floor(now) - 1);
	return { start: end - time.dur, dur: time.dur, end };
}

// The time range after panning by frac of its width (negative: back),
// paused, never past now.
export function pan(time, now, frac) {
	const w = timeWindow(time, now);
	const end = Math.round(w.end + frac * time.dur);
	return { dur: time.dur, end: Math.min(end, Math.floor(now) - 1) };
}

// The time range of a drag-selection [t0, t1) (any order), paused, at
// least RANGE_MIN seconds wide.
export function zoom(t0, t1, now) {
	let a = Math.floor(Math.min(t0, t1)), b = Math.ceil(Math.max(t0, t1));
	if (b - a < RANGE_MIN) {
		const mid = (a + b) / 2;
		a = Math.floor(mid - RANGE_MIN / 2);
		b = a + RANGE_MIN;
	}
	b = Math.min(b, Math.floor(now) - 1);
	return { dur: Math.min(RANGE_MAX, Math.max(RANGE_MIN, b - a)), end: b };
}

export function encodeHash(spec, opts, id, defaults = DEFAULTS, time) {
	const q = new URLSearchParams();
	q.set('metric', spec.module + '.' + spec.stat);
	if (spec.decomposition.length)
		q.set('decomp', spec.decomposition.join(','));
	if (Object.keys(spec.predicate || {}).length)
		q.set('pred', JSON.stringify(spec.predicate));
	if (opts.sel.length)
		q.set('sel', opts.sel.some(k => k.includes(',')) ?
			JSON.stringify(opts.sel) : opts.sel.join(','));
	for (const k of ['mode', 'color', 'scale', 'nb', 'ymax'])
		if (opts[k] !== defaults[k])
			q.set(k, opts[k]);
	if (opts.lines.join(',') !== defaults.lines.join(','))
		q.set('lines', opts.lines.join(',') || 'none');
	if (id)
		q.set('id', id);
	encodeTime(q, time);
	return '#' + q.toString();
}

function parseJson(text, what) {
	try {
		return JSON.parse(text);
	} catch (e) {
		throw new Error(`${what} is not valid JSON (${e.message})`);
	}
}

// {spec, opts, id, time} from the hash, or null when it names no metric;
// throws on a malformed one, saying what is wrong.  defaultsFor(spec)
// gives the options left out of the link (DEFAULTS without it).
export function decodeHash(hash, defaultsFor) {
	const q = new URLSearchParams(hash.replace(/^#/, ''));
	const metric = q.get('metric');
	if (!metric)
		return null;
	const dot = metric.indexOf('.');
	if (dot < 1 || dot === metric.length - 1)
		throw new Error(`metric must be MODULE.STAT, not “${metric}”`);
	const spec = { module: metric.slice(0, dot), stat: metric.slice(dot + 1),
		decomposition: q.get('decomp') ? q.get('decomp').split(',') : [],
		predicate: q.get('pred') ? parseJson(q.get('pred'), 'pred') : {} };
	if (!spec.predicate || typeof spec.predicate !== 'object' ||
		Array.isArray(spec.predicate))
		throw new Error('pred must be a JSON object');
	const sel = q.get('sel') || '';
	const defs = defaultsFor ? defaultsFor(spec) : DEFAULTS;
	const opts = { ...defs, lines: [...defs.lines],
		sel: sel.startsWith('[') ? parseJson(sel, 'sel') :
			sel ? sel.split(',') : [] };
	if (!Array.isArray(opts.sel) || opts.sel.some(k => typeof k !==
		'string'))
		throw new Error('sel must list keys');
	for (const k of ['mode', 'color', 'scale', 'nb', 'ymax'])
		if (q.has(k))
			opts[k] = q.get(k);
	for (const [k, ok] of Object.entries(CHOICES))
		if (!ok.includes(opts[k]))
			throw new Error(`${k} must be one of ${ok.join(', ')}, not ` +
				`“${opts[k]}”`);
	if (q.has('lines'))
		opts.lines = q.get('lines') === 'none' ? [] :
			q.get('lines').split(',').filter(l => LINES[l]);
	return { spec, opts, id: q.get('id'), time: decodeTime(q) };
}

// Hues for selected keys.  CA's defaults (21°, then +91°) repeat every
// four keys and give the fifth key the hue of "everything else", so, like
// CA's own portal (which had a fixed palette), the page picks hues that
// stay apart: hand-ordered so that the first few are far from each other
// and from the 21° orange kept for everything else.
export const REST_HUE = 21;
const KEY_HUES = [205, 120, 285, 50, 330, 165, 245, 85, 185, 305];

// The hues parameter for n selected keys: the rest's hue first unless
// isolating (then there is no "everything else" map).
export function keyHues(n, isolate) {
	const h = [];
	for (let i = 0; i < n; i++)
		h.push(KEY_HUES[i % KEY_HUES.length]);
	return isolate ? h : [REST_HUE, ...h];
}
