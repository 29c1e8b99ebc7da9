// ca.js - the Cloud Analytics API client, and whether the agent answers.
//
// Every request goes through request(), which is also the one place that
// learns whether the agent is reachable: a network error or a timeout marks
// it unreachable (the pages show a banner), any HTTP answer marks it
// reachable again.  API errors keep CA's body {code, message, param} so a
// form can point at the parameter it got wrong.
//
// Access: when the agent has a token file, every API request must carry
// `Authorization: Bearer TOKEN`.  The token and the tenant (empty: the
// operator, /ca; else /ca/customers/NAME) are typed into the access bar
// (installAccessBar) and kept in sessionStorage, so they last as long as
// the tab and are not written to disk.  A 401 or 403 tells the auth
// watchers, and the bar asks for a token with a sentence saying why.

export const API_VERSION = 'ca/0.1.8';
const TIMEOUT_MS = 4000;

// The error inside an API error body: CA's {"error": {code, message,
// param?}} or the older flat {code, message, param}.
export function errorBody(body) {
	if (body && body.error && typeof body.error === 'object')
		return body.error;
	return body || {};
}

export class ApiError extends Error {
	constructor(status, body) {
		const e = errorBody(body);
		super(e.message || `HTTP ${status}`);
		this.status = status;
		this.code = e.code;
		this.param = e.param || '';
	}
}

export class Unreachable extends Error {}

// ---- access: token and tenant -----------------------------------------

const TOKEN_KEY = 'kvmscope.token';
const TENANT_KEY = 'kvmscope.tenant';

// sessionStorage, or a stand-in where there is none (node's tests).
function store() {
	try {
		if (globalThis.sessionStorage)
			return globalThis.sessionStorage;
	} catch (e) { /* storage disabled: keep it in memory */ }
	const mem = new Map();
	return (globalThis.__kvmscopeStore ??= {
		getItem: k => mem.has(k) ? mem.get(k) : null,
		setItem: (k, v) => mem.set(k, String(v)),
		removeItem: k => mem.delete(k),
	});
}

export function getToken() {
	return store().getItem(TOKEN_KEY) || '';
}

export function getTenant() {
	return store().getItem(TENANT_KEY) || '';
}

// Saves (or, empty, forgets) the token and the tenant.
export function setAccess(token, tenant) {
	for (const [k, v] of [[TOKEN_KEY, (token || '').trim()],
		[TENANT_KEY, (tenant || '').trim()]]) {
		if (v)
			store().setItem(k, v);
		else
			store().removeItem(k);
	}
}

// The headers of an API request with this token (none: no Authorization).
export function requestHeaders(token, hasBody) {
	const h = { 'X-API-Version': API_VERSION };
	if (token)
		h.Authorization = 'Bearer ' + token;
	if (hasBody)
		h['Content-Type'] = 'application/json';
	return h;
}

// The API's base path for a tenant ('' or none: the operator's).
export function apiBase(tenant) {
	return tenant ? '/ca/customers/' + encodeURIComponent(tenant) : '/ca';
}

// The sentence shown for a refused request, or '' if it is not about
// access.
export function accessMessage(status, token, tenant) {
	if (status === 401)
		return token ? 'The agent did not accept this token: enter a ' +
			'valid one.' : 'The agent requires an access token: ' +
			'enter one above.';
	if (status === 403)
		return tenant ? `This token may not be used here: check the ` +
			`token and the tenant (“${tenant}”).` :
			'This token is a tenant\'s: enter the tenant\'s name, ' +
			'or an operator token.';
	return '';
}

const authWatchers = new Set();

// fn(message) is called when a request is refused for its token.
export function watchAuth(fn) {
	authWatchers.add(fn);
}

// Whether e is a refusal for the token (401 or 403).
export function isAuthError(e) {
	return e instanceof ApiError && (e.status === 401 || e.status === 403);
}

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
	const headers = requestHeaders(getToken(), body !== undefined);
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
	if (!res.ok) {
		const msg = accessMessage(res.status, getToken(), getTenant());
		if (msg)
			for (const fn of authWatchers)
				fn(msg);
		throw new ApiError(res.status, msg ?
			{ ...errorBody(json), message: msg } : json);
	}
	return json;
}

// A DELETE that may outlive the page (pagehide), with the token.
export function removeOnLeave(uri) {
	return fetch(uri, { method: 'DELETE', keepalive: true,
		headers: requestHeaders(getToken(), false) });
}

const base = () => apiBase(getTenant());

export const ca = {
	describe: () => request('GET', base()),
	status: () => request('GET', base() + '/admin/status'),
	list: () => request('GET', base() + '/instrumentations'),
	create: spec => request('POST', base() + '/instrumentations',
		{ body: spec }),
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

// Fills el (a form) with the token and tenant fields; saving reloads the
// page so everything is fetched again with them.  Refusals show in el's
// .access-why and open it.
export function installAccessBar(el) {
	const token = el.querySelector('[name=token]');
	const tenant = el.querySelector('[name=tenant]');
	const why = el.querySelector('.access-why');
	token.value = getToken();
	tenant.value = getTenant();
	el.addEventListener('submit', ev => {
		ev.preventDefault();
		setAccess(token.value, tenant.value);
		location.reload();
	});
	watchAuth(msg => {
		why.textContent = msg;
		why.hidden = false;
		el.classList.add('refused');
		if (!token.value)
			token.focus();
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
