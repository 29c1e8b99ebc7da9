// viewstate.js - a view's whole state in the URL hash, and back.
//
// The hash is what makes a view shareable: the metric, decomposition and
// predicate say what to measure (enough to recreate the instrumentation on
// another agent, or after a restart), the options say how to draw it, and
// the id says which instrumentation to reuse if it still measures the same
// thing.  Options at their defaults are left out to keep links short.

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

export function encodeHash(spec, opts, id) {
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
		if (opts[k] !== DEFAULTS[k])
			q.set(k, opts[k]);
	if (opts.lines.join(',') !== DEFAULTS.lines.join(','))
		q.set('lines', opts.lines.join(',') || 'none');
	if (id)
		q.set('id', id);
	return '#' + q.toString();
}

function parseJson(text, what) {
	try {
		return JSON.parse(text);
	} catch (e) {
		throw new Error(`${what} is not valid JSON (${e.message})`);
	}
}

// {spec, opts, id} from the hash, or null when it names no metric; throws
// on a malformed one, saying what is wrong.
export function decodeHash(hash) {
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
	const opts = { ...DEFAULTS,
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
	return { spec, opts, id: q.get('id') };
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
