// modules.test.mjs - the web UI's DOM-free modules under node's test
// runner: human units (web/units.js), the share-link state
// (web/viewstate.js), the heatmap's row geometry (web/heatmap.js, checked
// against rows the agent itself reports, see t_ui.sh) and spec matching
// (web/ca.js), and the client's access headers, paths and refusal messages
// (web/ca.js, against a stubbed fetch).  The expected values are worked out by hand from the type
// table GET /ca publishes, not taken from the code under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Unit, fmtNum, fmtCount, hsv } from '../../web/units.js';
import { encodeHash, decodeHash, DEFAULTS, mapDefaults, timeWindow, pan,
	zoom } from '../../web/viewstate.js';
import { rowEdges, fitWidth, timeTicks, isBlank } from '../../web/heatmap.js';
import { checkPanels, panelSpec, storageKey, loadSaved, saveDashboard,
	deleteDashboard, DEFAULT_PANELS } from '../../web/dashstate.js';
import { whyNoData } from '../../web/sources.js';
import { canonical, sameSpec, requestHeaders, apiBase, accessMessage,
	setAccess, getToken, getTenant, request, ca, isAuthError, ApiError }
	from '../../web/ca.js';

// As GET /ca describes them.
const TIME = { arity: 'numeric', unit: 'seconds', abbr: 's', base: 10,
	power: -9 };
const SIZE = { arity: 'numeric', unit: 'bytes', abbr: 'B', base: 2 };
const SUBSEC = { arity: 'numeric', unit: 'seconds', abbr: 's', base: 10,
	power: -3 };

test('numbers keep three significant digits and no trailing zeros', () => {
	assert.equal(fmtNum(1.5), '1.5');
	assert.equal(fmtNum(2.5), '2.5');
	assert.equal(fmtNum(1), '1');
	assert.equal(fmtNum(12.34), '12.3');
	assert.equal(fmtNum(250), '250');
	assert.equal(fmtNum(0.125), '0.125');
	assert.equal(fmtCount(12345), '12.3k');
	assert.equal(fmtCount(999), '999');
	assert.equal(fmtCount(2500000), '2.5M');
});

test('nanoseconds read as seconds with SI prefixes', () => {
	const u = new Unit(TIME);
	assert.equal(u.format(1000000000), '1 s');
	assert.equal(u.format(1500000), '1.5 ms');
	assert.equal(u.format(250000), '250 µs');
	assert.equal(u.format(999), '999 ns');
	assert.equal(u.format(0), '0');
	assert.equal(u.format(120e9), '120 s');
	assert.equal(u.formatRange(120000, 240000), '120 – 240 µs');
});

test('bytes read in binary units', () => {
	const u = new Unit(SIZE);
	assert.equal(u.format(1024), '1 KiB');
	assert.equal(u.format(1536), '1.5 KiB');
	assert.equal(u.format(1048576), '1 MiB');
	assert.equal(u.format(100), '100 B');
	assert.equal(u.format(3 * 1073741824), '3 GiB');
});

test('subsecond offsets (milliseconds) read as ms and s', () => {
	const u = new Unit(SUBSEC);
	assert.equal(u.format(250), '250 ms');
	assert.equal(u.format(1000), '1 s');
});

test('plain counts use k and M', () => {
	const u = new Unit(undefined, 'exits');
	assert.equal(u.name, 'exits');
	assert.equal(u.format(458), '458');
	assert.equal(u.format(12345), '12.3k');
});

test('linear ticks are round numbers in the displayed unit', () => {
	const u = new Unit(TIME);
	const labels = u.ticks(0, 12e6).map(v => u.format(v));
	assert.deepEqual(labels, ['0', '2.5 ms', '5 ms', '7.5 ms', '10 ms']);
	const b = new Unit(SIZE);
	assert.deepEqual(b.ticks(0, 3 * 1048576).map(v => b.format(v)),
		['0', '1 MiB', '2 MiB', '3 MiB']);
	// Never a label like 1666667.
	for (const v of u.ticks(0, 5e6, 4))
		assert.match(u.format(v), /^(0|\d+(\.\d+)? (ns|µs|ms|s))$/);
});

test('log ticks are powers of ten within the range', () => {
	const u = new Unit(TIME);
	const t = u.logTicks(100, 1e9, 20);
	assert.deepEqual(t.map(v => u.format(v)), ['100 ns', '1 µs', '10 µs',
		'100 µs', '1 ms', '10 ms', '100 ms', '1 s']);
	assert.ok(u.logTicks(1, 1e12, 5).length <= 5);
});

test('typed values parse back to raw units', () => {
	const u = new Unit(TIME);
	assert.equal(u.parse('10ms'), 10000000);
	assert.equal(u.parse('100us'), 100000);
	assert.equal(u.parse('100 µs'), 100000);
	assert.equal(u.parse('1 s'), 1000000000);
	assert.equal(u.parse('1.5s'), 1500000000);
	assert.equal(u.parse('42'), 42);
	assert.ok(Number.isNaN(u.parse('10 parsecs')));
	assert.ok(Number.isNaN(u.parse('')));
	const b = new Unit(SIZE);
	assert.equal(b.parse('4KiB'), 4096);
	assert.equal(b.parse('4k'), 4096);
	assert.equal(b.parse('2 MiB'), 2097152);
	assert.equal(b.parse('512B'), 512);
	assert.equal(new Unit(undefined, 'exits').parse('4k'), 4000);
});

test('CA hues: 21 degrees is an orange, 112 a green', () => {
	// 0.95 * (1 - 0.9 * (1 - 21/60)) * 255 = 100.5: green rounds to 101.
	assert.equal(hsv(21, 0.9, 0.95), 'rgb(242, 101, 24)');
	const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(hsv(112, 0.9, 0.95));
	assert.ok(Number(m[2]) > Number(m[1]) && Number(m[2]) > Number(m[3]));
});

test('the view state survives the URL hash', () => {
	const spec = { module: 'vm', stat: 'exits',
		decomposition: ['vleavereason', 'latency'],
		predicate: { and: [{ eq: ['pid', '145'] },
			{ gt: ['latency', 1000] }] } };
	const opts = { ...DEFAULTS, sel: ['io', 'npf'], mode: 'isolate',
		color: 'linear', scale: 'log', nb: '25', ymax: '10ms',
		lines: ['p90', 'mean'] };
	const h = encodeHash(spec, opts, '7');
	assert.ok(h.startsWith('#metric=vm.exits&'));
	const back = decodeHash(h);
	assert.deepEqual(back.spec, spec);
	assert.deepEqual(back.opts, opts);
	assert.equal(back.id, '7');
});

test('defaults are left out of links, and keys with commas survive', () => {
	const spec = { module: 'vm', stat: 'exits', decomposition: [],
		predicate: {} };
	assert.equal(encodeHash(spec, { ...DEFAULTS }), '#metric=vm.exits');
	const opts = { ...DEFAULTS, sel: ['a,b', 'c'], lines: [] };
	const back = decodeHash(encodeHash(spec, opts));
	assert.deepEqual(back.opts.sel, ['a,b', 'c']);
	assert.deepEqual(back.opts.lines, []);
});

test('damaged links are refused with a reason', () => {
	assert.equal(decodeHash(''), null);
	assert.equal(decodeHash('#id=3'), null);
	assert.throws(() => decodeHash('#metric=exits'), /MODULE\.STAT/);
	assert.throws(() => decodeHash('#metric=vm.exits&pred={oops'),
		/pred is not valid JSON/);
	assert.throws(() => decodeHash('#metric=vm.exits&pred=[1]'),
		/pred must be a JSON object/);
	assert.throws(() => decodeHash('#metric=vm.exits&mode=bogus'),
		/mode must be one of/);
	assert.throws(() => decodeHash('#metric=vm.exits&nb=7'),
		/nb must be one of/);
});

test('row edges follow the agent: linear, and log from 1', () => {
	const lin = rowEdges({ ymin: 0, ymax: 12000000, nbuckets: 5,
		scale: 'linear' });
	assert.deepEqual(lin, [0, 2400000, 4800000, 7200000, 9600000,
		12000000]);
	// The agent's rows for ymax 12e6 in 6 log rows (GET .../grid).
	const log = rowEdges({ ymin: 0, ymax: 12000000, nbuckets: 6,
		scale: 'log' });
	const agent = [0, 15.1308574942, 228.942848511, 3464.10161514,
		52414.8278842, 793081.2913, 12000000];
	log.forEach((e, i) => assert.ok(Math.abs(e - agent[i]) <=
		1e-6 * Math.max(1, agent[i]), `edge ${i}: ${e} vs ${agent[i]}`));
});

test('specs compare by meaning, not by key order', () => {
	const a = { and: [{ eq: ['pid', '1'] }, { gt: ['latency', 5] }] };
	const b = JSON.parse('{"and":[{"eq":["pid","1"]},{"gt":["latency",5]}]}');
	assert.equal(canonical(a), canonical(b));
	assert.equal(canonical({ x: 1, y: 2 }), canonical({ y: 2, x: 1 }));
	const inst = { module: 'vm', stat: 'exits', decomposition: ['vcpu'],
		predicate: a, id: '1' };
	assert.ok(sameSpec(inst, { module: 'vm', stat: 'exits',
		decomposition: ['vcpu'], predicate: b }));
	assert.ok(!sameSpec(inst, { module: 'vm', stat: 'exits',
		decomposition: ['vcpu'], predicate: {} }));
	assert.ok(!sameSpec(inst, { module: 'vm', stat: 'exits',
		decomposition: ['pid'], predicate: a }));
});

test('the token goes in a Bearer header, only when there is one', () => {
	assert.deepEqual(requestHeaders('', false),
		{ 'X-API-Version': 'ca/0.1.8' });
	assert.deepEqual(requestHeaders('abc-123', true), {
		'X-API-Version': 'ca/0.1.8',
		Authorization: 'Bearer abc-123',
		'Content-Type': 'application/json' });
});

test('a tenant uses its customer path, the operator /ca', () => {
	assert.equal(apiBase(''), '/ca');
	assert.equal(apiBase('acme'), '/ca/customers/acme');
	assert.equal(apiBase('a b/c'), '/ca/customers/a%20b%2Fc');
});

test('401 and 403 ask for a token, other errors are not about access', () => {
	assert.match(accessMessage(401, '', ''), /requires an access token/);
	assert.match(accessMessage(401, 'x', ''), /did not accept this token/);
	assert.match(accessMessage(403, 'x', ''), /tenant/);
	assert.match(accessMessage(403, 'x', 'acme'), /acme/);
	assert.equal(accessMessage(404, 'x', 'acme'), '');
	assert.equal(accessMessage(400, '', ''), '');
});

test('requests carry the stored token to the tenant\'s paths', async () => {
	const seen = [];
	const saved = globalThis.fetch;
	globalThis.fetch = async (url, init) => {
		seen.push({ url, headers: init.headers });
		const ok = init.headers.Authorization === 'Bearer tok-1';
		return { ok, status: ok ? 200 : 401,
			text: async () => ok ? '[]' : '{"code":"Unauth",' +
				'"message":"needs a token","param":"Authorization"}' };
	};
	try {
		setAccess('', '');
		await assert.rejects(ca.list(), e => isAuthError(e) &&
			e.status === 401 && /requires an access token/.test(e.message));
		assert.equal(seen[0].url, '/ca/instrumentations');
		assert.equal(seen[0].headers.Authorization, undefined);
		setAccess(' tok-1 ', 'acme');
		assert.equal(getToken(), 'tok-1');
		assert.equal(getTenant(), 'acme');
		assert.deepEqual(await ca.list(), []);
		assert.equal(seen[1].url, '/ca/customers/acme/instrumentations');
		assert.equal(seen[1].headers.Authorization, 'Bearer tok-1');
		await request('GET', '/ca/customers/acme/admin/status');
		assert.equal(seen[2].headers.Authorization, 'Bearer tok-1');
		setAccess('', '');
		assert.equal(getToken(), '');
		assert.equal(getTenant(), '');
	} finally {
		globalThis.fetch = saved;
	}
});

// GET /ca's fields and types, as far as the defaults need them.
const DESC = { types: { time: TIME, size: SIZE, subsecond: SUBSEC,
	string: { arity: 'discrete' } },
fields: { latency: { type: 'time' }, subsecond: { type: 'subsecond' },
	offset: { type: 'size' }, size: { type: 'size' },
	vleavereason: { type: 'string' }, vmmmuctx: { type: 'string' },
	irqvector: { type: 'string' } } };

test('maps open with readable defaults for what they show', () => {
	const lat = mapDefaults(DESC, ['vleavereason', 'latency']);
	assert.equal(lat.scale, 'log');
	assert.deepEqual(lat.lines, ['p50', 'p99']);
	const sub = mapDefaults(DESC, ['irqvector', 'subsecond']);
	assert.equal(sub.ymax, '1s');
	assert.deepEqual(sub.lines, []);
	assert.equal(sub.scale, 'linear');
	assert.deepEqual(mapDefaults(DESC, ['offset']).lines, []);
	assert.deepEqual(mapDefaults(DESC, ['size']).lines, ['p50', 'p99']);
	// By cr3: the keys' shares are the point, not a percentile.
	assert.deepEqual(mapDefaults(DESC, ['vmmmuctx', 'latency']).lines, []);
	// Asked for: kept in the link, since it is not the default.
	const spec = { module: 'vm', stat: 'irqs',
		decomposition: ['irqvector', 'subsecond'], predicate: {} };
	const h = encodeHash(spec, { ...sub, lines: ['p50'] }, null, sub);
	assert.match(h, /lines=p50/);
	assert.doesNotMatch(h, /ymax/);
	const back = decodeHash(h, s2 => mapDefaults(DESC, s2.decomposition));
	assert.deepEqual(back.opts.lines, ['p50']);
	assert.equal(back.opts.ymax, '1s');
});

test('the time range: live, paused, panned, zoomed, in the link', () => {
	const now = 1000.7;
	assert.deepEqual(timeWindow({ dur: 60, end: null }, now),
		{ start: 939, dur: 60, end: 999 });
	assert.deepEqual(timeWindow({ dur: 300, end: 800 }, now),
		{ start: 500, dur: 300, end: 800 });
	// Back half a range, paused; forward never past now.
	assert.deepEqual(pan({ dur: 60, end: null }, now, -0.5),
		{ dur: 60, end: 969 });
	assert.deepEqual(pan({ dur: 60, end: 990 }, now, 1),
		{ dur: 60, end: 999 });
	// A drag from 912.4 to 947.2: whole seconds around it; too narrow
	// a drag widens to 10 s about its middle.
	assert.deepEqual(zoom(947.2, 912.4, now), { dur: 36, end: 948 });
	assert.deepEqual(zoom(900, 902, now), { dur: 10, end: 906 });
	const spec = { module: 'vm', stat: 'exits', decomposition: [],
		predicate: {} };
	const h = encodeHash(spec, { ...DEFAULTS }, '3', DEFAULTS,
		{ dur: 900, end: 1796589000 });
	assert.match(h, /t=900&end=1796589000/);
	assert.deepEqual(decodeHash(h).time, { dur: 900, end: 1796589000 });
	assert.deepEqual(decodeHash('#metric=vm.exits').time,
		{ dur: 60, end: null });
	assert.throws(() => decodeHash('#metric=vm.exits&t=5'), /t must be/);
	assert.throws(() => decodeHash('#metric=vm.exits&t=7200'), /t must be/);
	assert.throws(() => decodeHash('#metric=vm.exits&end=soon'),
		/end must be/);
});

test('image widths keep columns whole; time ticks are round', () => {
	assert.equal(fitWidth(900, 60), 900);
	assert.equal(fitWidth(950, 60), 900);
	assert.equal(fitWidth(950, 300), 900);
	// More columns than pixels: a divisor, so each pixel holds as many.
	assert.equal(fitWidth(950, 3600), 900);
	assert.equal(fitWidth(2000, 3600), 900);
	assert.deepEqual(timeTicks(1005, 60, 600), [1010, 1020, 1030, 1040,
		1050, 1060]);
	assert.deepEqual(timeTicks(0, 3600, 900), [0, 600, 1200, 1800, 2400,
		3000, 3600]);
	assert.equal(isBlank(new Uint8ClampedArray([255, 255, 255, 255,
		0, 0, 0, 0])), true);
	assert.equal(isBlank(new Uint8ClampedArray([255, 255, 255, 255,
		240, 120, 40, 255])), false);
});

test('dashboards: checked, keyed per agent and scope, saved', () => {
	assert.equal(checkPanels(DEFAULT_PANELS).length, 7);
	assert.deepEqual(panelSpec(checkPanels(DEFAULT_PANELS)[1]),
		{ module: 'vm', stat: 'exits', predicate: {},
			decomposition: ['vleavereason', 'latency'] });
	assert.throws(() => checkPanels([]), /one or more/);
	assert.throws(() => checkPanels([{ metric: 'exits' }]), /MODULE\.STAT/);
	assert.throws(() => checkPanels([{ metric: 'vm.exits',
		decomp: ['a', 'b', 'c'] }]), /at most two/);
	assert.throws(() => checkPanels(new Array(13).fill({
		metric: 'vm.exits' })), /at most 12/);
	assert.equal(storageKey('h:1', ''), 'kvmscope.dashboards:h:1:operator');
	assert.equal(storageKey('h:1', 'acme'),
		'kvmscope.dashboards:h:1:tenant:acme');
	const m = new Map();
	const st = { getItem: k => m.get(k) ?? null,
		setItem: (k, v) => m.set(k, v) };
	saveDashboard(st, 'k', 'mine', [{ metric: 'vm.irqs' }]);
	assert.deepEqual(Object.keys(loadSaved(st, 'k')), ['mine']);
	assert.deepEqual(loadSaved(st, 'other'), {});
	deleteDashboard(st, 'k', 'mine');
	assert.deepEqual(loadSaved(st, 'k'), {});
	m.set('bad', '{oops');
	assert.deepEqual(loadSaved(st, 'bad'), {});
});

test('an empty map says which source and since when', () => {
	const inst = { crtime: 1000000, predicate: {} };
	const w = { start: 900, end: 1060, live: true };
	const src = { sources: [{ name: 'bpf_irqs', metrics: ['vm.irqs'],
		status: 'unavailable', reason: 'no BPF' }, { name: 'nic',
		metrics: ['nic.vnic_bytes'], status: 'running', records: 5 }] };
	assert.match(whyNoData(src, 'vm.irqs', 'interrupts', inst, w),
		/^No interrupts since .* \(when this instrumentation was created\): source bpf_irqs is unavailable: no BPF\.$/);
	assert.match(whyNoData(src, 'nic.vnic_bytes', 'bytes', inst, w),
		/source nic is running \(5 records so far\) but none was nic\.vnic_bytes/);
	assert.match(whyNoData({ replay: { file: '/x/t.txt' } }, 'vm.irqs',
		'interrupts', inst, w), /replays t\.txt, which holds no vm\.irqs/);
	assert.match(whyNoData({ now: 5 }, 'vm.irqs', 'interrupts', inst, w),
		/^No interrupts from your VMs since/);
	assert.match(whyNoData(src, 'vm.irqs', 'interrupts', inst,
		{ start: 100, end: 200, live: false }), /^Nothing kept/);
});

test('API errors are read in CA\'s shape and in the older flat one', () => {
	const a = new ApiError(409, { error: { code: 'ECA_INVAL',
		message: 'bad ymax', param: 'ymax' } });
	assert.equal(a.message, 'bad ymax');
	assert.equal(a.code, 'ECA_INVAL');
	assert.equal(a.param, 'ymax');
	const b = new ApiError(400, { code: 'InvalidArgument',
		message: 'bad', param: 'x' });
	assert.equal(b.message, 'bad');
	assert.equal(b.param, 'x');
	assert.equal(new ApiError(500, null).message, 'HTTP 500');
});
