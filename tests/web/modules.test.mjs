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
import { encodeHash, decodeHash, DEFAULTS } from '../../web/viewstate.js';
import { rowEdges } from '../../web/heatmap.js';
import { canonical, sameSpec, requestHeaders, apiBase, accessMessage,
	setAccess, getToken, getTenant, request, ca, isAuthError }
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
