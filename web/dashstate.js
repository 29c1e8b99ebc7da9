// dashstate.js - dashboards: several maps on one page, on one time axis;
// their definition, the default one, the share link, and where they are
// saved.
//
// A dashboard is a name and a list of panels; a panel says what to
// measure (metric, decomposition, predicate) and how to draw it (the
// analytics page's options, over the map's defaults).  The page finds or
// creates one instrumentation per panel and draws them all over the same
// time range (viewstate.js: t, end).
//
// Where they are saved: in the browser's localStorage, under a key naming
// the agent (host:port) and the scope (operator, or the tenant's name), so
// each person keeps their own and a tenant's never mix with the operator's
// or another tenant's.  The agent's tokens name a scope, not a person
// (several operators share the operator token), so a store on the agent
// keyed by token could not keep dashboards per user; and the share link
// carries the whole dashboard (#d=...), so a dashboard moves between
// people and agents by link, with no server state to bound or secure.

export const MAX_PANELS = 12;

// The default dashboard of a host: what an operator looks at first.
export const DEFAULT_PANELS = [
	{ title: 'VM exits by reason', metric: 'vm.exits',
		decomp: ['vleavereason'] },
	{ title: 'Exit latency by reason', metric: 'vm.exits',
		decomp: ['vleavereason', 'latency'], opts: { mode: 'all' } },
	{ title: 'Interrupts by vector over subsecond offset',
		metric: 'vm.irqs', decomp: ['irqvector', 'subsecond'],
		opts: { mode: 'all' } },
	{ title: 'vCPU samples by guest cr3', metric: 'vm.thread_samples',
		decomp: ['vmmmuctx', 'subsecond'], opts: { mode: 'all' } },
	{ title: 'Disk latency by op type', metric: 'vm.physio_ops',
		decomp: ['optype', 'latency'], opts: { mode: 'all' } },
	{ title: 'Disk offsets by op type', metric: 'vm.physio_ops',
		decomp: ['optype', 'offset'], opts: { mode: 'all' } },
	{ title: 'NIC bytes by direction', metric: 'nic.vnic_bytes',
		decomp: ['direction'] },
];

const OPT_KEYS = ['mode', 'color', 'scale', 'nb', 'ymax', 'lines', 'sel'];

// Checks and normalises one panel; throws saying what is wrong.
export function checkPanel(p, i) {
	const where = `panel ${i + 1}`;
	if (!p || typeof p !== 'object' || Array.isArray(p))
		throw new Error(`${where} must be an object`);
	if (typeof p.metric !== 'string' || !/^\w+\.\w+$/.test(p.metric))
		throw new Error(`${where}: metric must be MODULE.STAT`);
	const decomp = p.decomp || [];
	if (!Array.isArray(decomp) || decomp.length > 2 ||
		decomp.some(f => typeof f !== 'string'))
		throw new Error(`${where}: decomp must list at most two fields`);
	const pred = p.pred || {};
	if (typeof pred !== 'object' || Array.isArray(pred))
		throw new Error(`${where}: pred must be a JSON object`);
	const opts = {};
	for (const [k, v] of Object.entries(p.opts || {}))
		if (OPT_KEYS.includes(k))
			opts[k] = v;
	return { title: typeof p.title === 'string' ? p.title.slice(0, 120) :
		'', metric: p.metric, decomp: [...decomp], pred, opts };
}

export function checkPanels(panels) {
	if (!Array.isArray(panels) || panels.length === 0)
		throw new Error('a dashboard lists one or more panels');
	if (panels.length > MAX_PANELS)
		throw new Error(`a dashboard holds at most ${MAX_PANELS} panels`);
	return panels.map(checkPanel);
}

// The instrumentation spec of a panel.
export function panelSpec(p) {
	const dot = p.metric.indexOf('.');
	return { module: p.metric.slice(0, dot), stat: p.metric.slice(dot + 1),
		decomposition: p.decomp, predicate: p.pred || {} };
}

// The storage key for a scope on an agent.
export function storageKey(host, tenant) {
	return `kvmscope.dashboards:${host}:${tenant ? 'tenant:' + tenant :
		'operator'}`;
}

// {name: panels} saved for the scope (storage: localStorage or alike).
export function loadSaved(storage, key) {
	try {
		const v = JSON.parse(storage.getItem(key) || '{}');
		return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
	} catch (e) {
		return {};
	}
}

export function saveDashboard(storage, key, name, panels) {
	const all = loadSaved(storage, key);
	all[name] = checkPanels(panels);
	storage.setItem(key, JSON.stringify(all));
	return all;
}

export function deleteDashboard(storage, key, name) {
	const all = loadSaved(storage, key);
	delete all[name];
	storage.setItem(key, JSON.stringify(all));
	return all;
}
