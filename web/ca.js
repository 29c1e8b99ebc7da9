// ca.js - the Cloud Analytics API client, and whether the agent answers.
//
// Every request goes through request(), which is also the one place that
// learns whether the agent is reachable: a network error or a timeout marks
// it unreachable (the pages show a banner), any HTTP answer marks it
// reachable again.  API errors keep CA's body {code, message, param} so a
// form can point at the parameter it got wrong.

export const API_VERSION = 'ca/0.1.8';
const TIMEOUT_MS = 4000;

export class ApiError extends Error {
	constructor(status, body) {
		super((body && body.message) || `HTTP ${status}`);
		this.status = status;
		this.code = body && body.code;
		this.param = (body && body.param) || '';
	}
}

export class Unreachable extends Error {}

const watchers = new Set();
let reachable = true;
let lastError = '';
let lastOk = Date.now();

// fn(reachable, {error, lastOk}) is called on every change.
export function watchReachability(fn) {
	watchers.add(fn);
}

export function isReachable() {
	return reachable;
}

function setReachable(ok, error) {
	if (ok)
		lastOk = Date.now();
	else
		lastError = error;
	if (ok === reachable)
		return;
	reachable = ok;
	for (const fn of watchers)
		fn(ok, { error: lastError, lastOk });
}

function query(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {})) {
		if (v === undefined || v === null || v === '')
			continue;
		q.set(k, Array.isArray(v) ? v.join(',') : String(v));
	}
	const s = q.toString();
	return s ? '?' + s : '';
}

// One request; resolves to the parsed JSON body (null for 204).
export async function request(method, path, { params, body } = {}) {
	const ctl = new AbortController();
	const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
	const headers = { 'X-API-Version': API_VERSION };
	if (body !== undefined)
		headers['Content-Type'] = 'application/json';
	let res, text;
	try {
		res = await fetch(path + query(params), {
			method, headers, cache: 'no-store', signal: ctl.signal,
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		text = await res.text();
	} catch (e) {
		const msg = e.name === 'AbortError' ?
			`no answer within ${TIMEOUT_MS / 1000} s` : e.message;
		setReachable(false, msg);
		throw new Unreachable(msg);
	} finally {
		clearTimeout(timer);
	}
	setReachable(true);
	let json = null;
	if (text) {
		try {
			json = JSON.parse(text);
		} catch (e) {
			if (res.ok)
				throw new ApiError(res.status, {
					message: 'the agent sent something other ' +
						'than JSON' });
		}
	}
	if (!res.ok)
		throw new ApiError(res.status, json);
	return json;
}

export const ca = {
	describe: () => request('GET', '/ca'),
	status: () => request('GET', '/ca/admin/status'),
	list: () => request('GET', '/ca/instrumentations'),
	create: spec => request('POST', '/ca/instrumentations', { body: spec }),
	remove: inst => request('DELETE', inst.uri),
	clone: inst => request('POST', inst.uri + '/clone', { body: {} }),
	raw: (inst, params) => request('GET', inst.uri + '/value/raw',
		{ params }),
	heatmap: (inst, what, params) => request('GET',
		inst.uri + '/value/heatmap/' + what, { params }),
};

// A canonical string for a predicate, so that two equal predicates compare
// equal whatever their key order.
export function canonical(v) {
	if (Array.isArray(v))
		return '[' + v.map(canonical).join(',') + ']';
	if (v && typeof v === 'object')
		return '{' + Object.keys(v).sort().map(k => JSON.stringify(k) +
			':' + canonical(v[k])).join(',') + '}';
	return JSON.stringify(v);
}

// True if an instrumentation measures what spec asks for.
export function sameSpec(inst, spec) {
	return inst.module === spec.module && inst.stat === spec.stat &&
		canonical(inst.decomposition || []) ===
			canonical(spec.decomposition || []) &&
		canonical(inst.predicate || {}) ===
			canonical(spec.predicate || {});
}

// Shows the unreachable banner (element #banner) while the agent is down.
export function installBanner(el) {
	let since = 0;
	watchReachability((ok, info) => {
		if (ok) {
			el.hidden = true;
			document.body.classList.remove('offline');
			return;
		}
		since = info.lastOk;
		document.body.classList.add('offline');
		el.hidden = false;
		el.querySelector('.banner-what').textContent =
			`Cannot reach the kvmscope agent at ${location.host}`;
		el.querySelector('.banner-why').textContent =
			`${info.error}. Retrying every second; the data shown is ` +
			`from ${new Date(since).toLocaleTimeString([],
				{ hour12: false })}.`;
	});
}

// Polls fn every interval ms, never overlapping; returns a stop function.
export function poll(fn, interval = 1000) {
	let stopped = false, timer = 0;
	async function tick() {
		const t0 = performance.now();
		try {
			await fn();
		} catch (e) {
			if (!(e instanceof Unreachable))
				console.error(e);
		}
		if (!stopped)
			timer = setTimeout(tick, Math.max(50, interval -
				(performance.now() - t0)));
	}
	tick();
	return () => {
		stopped = true;
		clearTimeout(timer);
	};
}
