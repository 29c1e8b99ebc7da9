// units.js - human units for values, driven by GET /ca's type table.
//
// CA describes every field's type as {arity, unit, abbr, base, power}:
// latency is nanoseconds ("seconds", base 10, power -9), sizes are bytes
// (base 2).  Axis labels, details and predicate inputs all go through
// here, so 1000000000 is shown as "1 s" and 1048576 as "1 MiB", and "10ms"
// typed into a predicate becomes 10000000.

const SI = [
	[1e-9, 'n'], [1e-6, 'µ'], [1e-3, 'm'], [1, ''],
	[1e3, 'k'], [1e6, 'M'], [1e9, 'G'], [1e12, 'T'],
];
const BIN = [[1, ''], [1024, 'Ki'], [1048576, 'Mi'], [1073741824, 'Gi'],
	[1099511627776, 'Ti'], [1125899906842624, 'Pi']];

// Up to 3 significant digits, no trailing zeros: 1.5, 250, 0.25.
export function fmtNum(x) {
	if (!isFinite(x))
		return String(x);
	if (x === 0)
		return '0';
	const a = Math.abs(x);
	let s;
	if (a >= 100)
		s = x.toFixed(0);
	else if (a >= 10)
		s = x.toFixed(1);
	else if (a >= 1)
		s = x.toFixed(2);
	else
		s = x.toPrecision(3);
	if (s.includes('.') && !s.includes('e'))
		s = s.replace(/0+$/, '').replace(/\.$/, '');
	return s;
}

// A plain count: 1234 -> "1.23k".
export function fmtCount(x) {
	const a = Math.abs(x);
	if (a < 1000)
		return fmtNum(x);
	for (let i = SI.length - 1; i >= 4; i--)
		if (a >= SI[i][0])
			return fmtNum(x / SI[i][0]) + SI[i][1];
	return fmtNum(x);
}

// The prefix [factor, name] that puts |v| (in base units) in [1, 1000)
// (or [1, 1024) for binary units).
function prefixFor(v, binary) {
	const table = binary ? BIN : SI;
	const a = Math.abs(v);
	let best = binary ? BIN[0] : SI[3];
	if (a === 0)
		return best;
	for (const p of table)
		if (a >= p[0] * (binary ? 1 : 0.9999999))
			best = p;
	return best;
}

// A unit: how to turn raw values of a type into labels.  type may be
// undefined (a plain number) or one of GET /ca's types.
export class Unit {
	constructor(type, fallbackName) {
		this.type = type || {};
		const t = this.type;
		this.abbr = t.abbr || (t.unit === '%' ? '%' : '');
		this.binary = t.base === 2;
		this.scale = t.power ? Math.pow(t.base || 10, t.power) : 1;
		this.name = t.unit || fallbackName || '';
		this.dimensioned = !!t.abbr;
		// What a value is, for messages: "a time", "a size".
		this.kind = t.abbr === 's' ? 'time' : this.binary ? 'size' :
			'number';
	}

	// The raw value as a human string: "1.5 ms", "64 KiB", "12.3k".
	format(v) {
		if (v === null || v === undefined || Number.isNaN(v))
			return '–';
		if (this.abbr === '%')
			return fmtNum(v) + '%';
		if (!this.dimensioned)
			return fmtCount(v);
		if (v === 0)
			return '0';
		const base = v * this.scale;
		const [f, p] = prefixFor(base, this.binary);
		return fmtNum(base / f) + ' ' + p + this.abbr;
	}

	// The span [lo, hi) as one string, sharing the prefix of hi.
	formatRange(lo, hi) {
		if (!this.dimensioned)
			return fmtCount(lo) + ' – ' + fmtCount(hi);
		const [f, p] = prefixFor(hi * this.scale, this.binary);
		return fmtNum(lo * this.scale / f) + ' – ' +
			fmtNum(hi * this.scale / f) + ' ' + p + this.abbr;
	}

	// Nice tick values (raw units) for a linear axis over [min, max]: steps
	// of 1, 2 or 5 times a power of ten in the displayed unit, so labels
	// read 0, 2 ms, 4 ms ... rather than 0, 1666667 ...
	ticks(min, max, maxTicks = 6) {
		if (!(max > min))
			return [min];
		const s = this.dimensioned ? this.scale : 1;
		const [f] = this.dimensioned ? prefixFor(max * s, this.binary)
			: [1];
		const lo = min * s / f, hi = max * s / f;
		const raw = (hi - lo) / Math.max(1, maxTicks - 1);
		const mag = Math.pow(10, Math.floor(Math.log10(raw)));
		let step = mag;
		for (const m of [1, 2, 2.5, 5, 10]) {
			step = m * mag;
			if (step >= raw)
				break;
		}
		const out = [];
		for (let x = Math.ceil(lo / step - 1e-9) * step; x <= hi + 1e-9;
			x += step)
			out.push(x * f / s);
		return out;
	}

	// Powers of ten (in the displayed base unit) within [min, max], for log
	// axes; thinned to at most maxTicks.
	logTicks(min, max, maxTicks = 7) {
		const s = this.dimensioned ? this.scale : 1;
		const lo = Math.max(min * s, 1e-300), hi = max * s;
		const out = [];
		for (let e = Math.ceil(Math.log10(lo)); Math.pow(10, e) <= hi *
			(1 + 1e-9); e++)
			out.push(Math.pow(10, e) / s);
		const every = Math.ceil(out.length / maxTicks);
		return out.filter((_, i) => (out.length - 1 - i) % every === 0);
	}

	// Parses "10ms", "1.5 s", "64KiB", "4k" or a plain number into raw
	// units; NaN if it cannot.
	parse(str) {
		const r = this.parseRaw(str);
		// Raw units are integers (ns, bytes): undo float noise.
		return Math.abs(r - Math.round(r)) < 1e-6 * Math.max(1,
			Math.abs(r)) ? Math.round(r) : r;
	}

	parseRaw(str) {
		const m = /^\s*([-+]?\d*\.?\d+(?:e[-+]?\d+)?)\s*([a-zµ%]*)\s*$/i
			.exec(String(str));
		if (!m)
			return NaN;
		const x = parseFloat(m[1]);
		let suffix = m[2];
		if (!suffix)
			return x;
		if (!this.dimensioned) {
			const p = SI.find(q => q[1] && q[1].toLowerCase() ===
				suffix.toLowerCase() && q[0] >= 1e3);
			return p ? x * p[0] : NaN;
		}
		const abbr = this.abbr.toLowerCase();
		suffix = suffix.replace(/^u/, 'µ');
		if (suffix.toLowerCase().endsWith(abbr))
			suffix = suffix.slice(0, suffix.length - abbr.length);
		if (this.binary) {
			const key = suffix.toLowerCase().replace(/i$/, '');
			const p = BIN.find(q => q[1].toLowerCase().replace(/i$/,
				'') === key);
			return p ? x * p[0] / this.scale : NaN;
		}
		const p = SI.find(q => q[1] === suffix) ||
			SI.find(q => q[1].toLowerCase() === suffix.toLowerCase());
		return p ? x * p[0] / this.scale : NaN;
	}

	// An example for input placeholders: "e.g. 100us" / "e.g. 4KiB".
	example() {
		if (!this.dimensioned)
			return 'a number';
		if (this.binary)
			return 'e.g. 4KiB';
		return this.type.power === -9 ? 'e.g. 100us' : 'e.g. 10ms';
	}
}

// The Unit of a field of GET /ca's description.
export function fieldUnit(desc, field) {
	const f = desc.fields[field];
	return new Unit(f && desc.types[f.type]);
}

// The Unit of a metric's values: a type (vm.physio_bytes: size) or a
// plain count with a unit name ("exits").
export function metricUnit(desc, metric) {
	if (metric.type)
		return new Unit(desc.types[metric.type]);
	return new Unit(undefined, metric.unit);
}

// True if a field's type is numeric (it can be a heatmap's y axis).
export function isNumeric(desc, field) {
	const f = desc.fields[field];
	const t = f && desc.types[f.type];
	return !!t && t.arity === 'numeric';
}

// CA's colours: HSV with saturation 0.9 * level and value 0.95.
export function hsv(h, s, v) {
	const i = Math.floor(h / 60) % 6, f = h / 60 - Math.floor(h / 60);
	const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
	const [r, g, b] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v],
		[t, p, v], [v, p, q]][i];
	return `rgb(${Math.round(r * 255)}, ${Math.round(g * 255)}, ` +
		`${Math.round(b * 255)})`;
}

export function hueColor(h, level = 0.85) {
	return hsv(h, 0.9 * level, 0.95);
}

// Local clock time of a unix second: "14:03:27".
export function fmtClock(t) {
	const d = new Date(t * 1000);
	return d.toLocaleTimeString([], { hour12: false });
}
