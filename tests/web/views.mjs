// views.mjs - issue 13's web UI in chromium, as the operator and as a
// tenant (full_ui_views.sh runs it against a replaying agent with tokens).
//
// Every feature is checked by what a person sees and by the agent's own
// numbers: the hover tip's count must equal the details the agent gives
// for that cell; the keyboard cursor's Enter must give the cell it names;
// a range picked, paused, stepped back or dragged must be the range of the
// image drawn (its duration and start time) and of the share link; every
// panel of a dashboard must draw the same interval at the same place.
// Screenshots are decoded by the browser and must hold coloured cells in
// the hues the legends name.  Exits 0, 1 on a failed check, 77 without a
// browser.
import { copyFileSync, mkdirSync } from 'node:fs';
import process from 'node:process';
import { log, Failed, check, until, canvasStats, pngStats, hueDist,
	watch, launch } from './lib.mjs';

const BASE = process.env.BASE;
const SHOTS = process.env.SHOTS;
const DOCS = process.env.DOCS || '';	// docs/ui with UPDATE_DOCS=1
const OP = process.env.OP;		// the operator's token
const TA = process.env.TA;		// tenant acme's token
const VA = 'qemu-system-x86', VB = 'kvmtest';

async function api(path, token = OP) {
	const r = await fetch(new URL(path, BASE), { headers:
		{ Authorization: `Bearer ${token}` } });
	if (!r.ok)
		throw new Failed(`${path}: HTTP ${r.status}`);
	return r.json();
}

// A screenshot (of an element, or the page), also copied to docs/ui.
async function shot(page, name, sel) {
	const path = `${SHOTS}/${name}.png`;
	const buf = sel ? await page.locator(sel).first().screenshot({ path }) :
		await page.screenshot({ path, fullPage: true });
	if (DOCS)
		copyFileSync(path, `${DOCS}/${name}.png`);
	log(`screenshot ${path}`);
	return buf;
}

// A screenshot that must show coloured cells: n pixels, some near hue.
async function colourShot(page, name, sel, min, hue) {
	const st = await pngStats(page, await shot(page, name, sel));
	const near = hue === undefined ? st.n : st.hues.filter((_, i) =>
		hueDist(i * 10 + 5, hue) <= 12).reduce((a, b) => a + b, 0);
	check(near >= min, `screenshot ${name}: ${near} coloured pixels` +
		(hue === undefined ? '' : ` near hue ${hue}°`) + ` (≥ ${min})`);
}

// Signs the tab in: the access bar's storage (sessionStorage) holds the
// token and the tenant; then opens path.
async function as(page, token, tenant, path) {
	await page.goto(new URL('/kvmstat.html#', BASE).href);
	await page.evaluate(([t, n]) => {
		sessionStorage.setItem('kvmscope.token', t);
		if (n)
			sessionStorage.setItem('kvmscope.tenant', n);
		else
			sessionStorage.removeItem('kvmscope.tenant');
	}, [token, tenant]);
	await page.goto(new URL(path, BASE).href);
}

const hashOf = page => new URLSearchParams(new URL(page.url()).hash
	.slice(1));

async function drawn(page, sel = '#heatmap') {
	return page.evaluate(s => {
		const h = document.querySelector(s);
		return h && h.dataset.drawn ? { start: Number(h.dataset.drawn),
			dur: Number(h.dataset.duration), blank: h.dataset.blank } : null;
	}, sel);
}

async function ticks(page, axis, root = '#heatmap') {
	return page.$$eval(`${root} .hm-${axis} .tick`, ts =>
		ts.map(t => t.textContent));
}

// ---- the analytics page ------------------------------------------------

async function analytics(page) {
	// A latency map opens in log scale, with p50 and p99.
	await page.goto(new URL('/#metric=vm.exits&decomp=vleavereason,latency',
		BASE).href);
	await until('latency pixels', async () => (await canvasStats(page,
		'#heatmap .hm-image')).n > 20);
	const scale = await page.getAttribute(
		'#toolbar [data-opt=scale] [aria-pressed=true]', 'data-v');
	const yl = await ticks(page, 'yaxis');
	check(scale === 'log' && yl.length >= 3 && yl.every(t =>
		/^(1|10|100) (ns|µs|ms|s)$/.test(t)),
	`a latency map opens in log scale: ${yl.join(' | ')}`);
	await until('p50 and p99 lines', async () => (await page.$$(
		'#heatmap .line-label')).length === 2);
	check(!hashOf(page).has('scale'), 'the default scale stays out of ' +
		'the link');
	// Paused, so that the cells stay under the pointer.
	await page.click('#timebar .tb-pause');
	await until('the paused image', async () => {
		const d = await drawn(page);
		return d && d.start === Number(hashOf(page).get('end')) - 60;
	});
	const st = await canvasStats(page, '#heatmap .hm-image');

	// Hover: the tip's count is the agent's count for that cell.
	const box = await page.locator('#heatmap .hm-overlay').boundingBox();
	await page.mouse.move(box.x + st.x + 0.5, box.y + st.y + 0.5);
	const tip = await until('a hover tip with a count', () =>
		page.evaluate(() => {
			const t = document.querySelector('#heatmap .hm-tip');
			return t && !t.hidden && t.dataset.count ? { text: t.textContent,
				n: Number(t.dataset.count) } : null;
		}));
	check(tip.n > 0 && /^\d\d:\d\d:\d\d · latency [\d.]+ – [\d.]+ (ns|µs|ms|s) · ≈?\d+ exits$/
		.test(tip.text), `hovering a cell shows its count and range: ` +
		`“${tip.text}”`);
	await shot(page, 'hover', '#view');
	// (The screenshot may scroll: find the cell again.)
	const bx = await page.locator('#heatmap .hm-overlay').boundingBox();
	await page.mouse.click(bx.x + st.x + 0.5, bx.y + st.y + 0.5);
	const total = await until('details', () => page.evaluate(() => {
		const b = document.querySelector('#details .big');
		return b && Number(b.dataset.total);
	}));
	// Log rows split the agent's buckets by value, so the grid's count
	// may be a fraction of a bucket's; details count whole records.
	const near = (a, b) => Math.abs(a - b) <= Math.max(1, 0.05 * b);
	check(near(tip.n, total), `the tip's count is the agent's details ` +
		`for the cell (${tip.n} ≈ ${total})`);

	// The keyboard: focus the map, move the cursor, Enter for details.
	await page.focus('#heatmap .hm-area');
	const c0 = await until('a cursor cell', () => page.getAttribute(
		'#heatmap .hm-area', 'data-cursor'));
	await page.keyboard.press('ArrowLeft');
	await page.keyboard.press('ArrowLeft');
	await page.keyboard.press('ArrowUp');
	const c1 = await page.getAttribute('#heatmap .hm-area', 'data-cursor');
	const [x0, y0] = c0.split(',').map(Number);
	const [x1, y1] = c1.split(',').map(Number);
	check(x1 === Math.max(0, x0 - 2) && y1 === y0 + 1, `arrow keys move ` +
		`the cursor cell (${c0} -> ${c1})`);
	// Back to the fullest cell, where the cursor started.
	await page.keyboard.press('ArrowDown');
	await page.keyboard.press('ArrowRight');
	await page.keyboard.press('ArrowRight');
	const c2 = await page.getAttribute('#heatmap .hm-area', 'data-cursor');
	const kn = Number(await page.getAttribute('#heatmap .hm-tip',
		'data-count'));
	check(c2 === c0 && kn > 0, `and back (${c2}: ${kn} exits)`);
	await page.evaluate(() => {
		document.querySelector('#details').replaceChildren();
	});
	await page.keyboard.press('Enter');
	const kd = await until('details for the cursor cell', () =>
		page.evaluate(() => {
			const b = document.querySelector('#details .big');
			return b && { n: Number(b.dataset.total), head: document
				.querySelector('#details .details-head').textContent };
		}));
	check(near(kd.n, kn), `Enter gives the cursor cell's details (${kn} ≈ ` +
		`${kd.n}: ${kd.head.trim()})`);
	await shot(page, 'keyboard', '#hm-panel');

	// The time range: 5 minutes (live), in the image and the link.
	await page.click('#timebar [data-range="300"]');
	await until('a 5-minute image', async () => {
		const d = await drawn(page);
		return d && d.dur === 300;
	});
	check(hashOf(page).get('t') === '300' && !hashOf(page).has('end'),
		'5 min: the image spans 300 s and the link says t=300');
	await colourShot(page, 'range-5min', '#hm-panel', 50);

	// Pause: the picture stops moving; the link pins the end.
	await page.click('#timebar .tb-pause');
	const end = Number(hashOf(page).get('end'));
	const p0 = await until('the paused image', async () => {
		const d = await drawn(page);
		return d && d.start === end - 300 ? d : null;
	});
	await new Promise(r => setTimeout(r, 2500));
	const p1 = await drawn(page);
	check(end > 0 && p1.start === p0.start && await page.getAttribute(
		'#timebar', 'data-live') === 'false', `paused at ${end}: the ` +
		`image stays at ${p0.start} (2.5 s later: ${p1.start})`);
	// Drag-select over the newest 12% of the map, where the data is.
	const b2 = await page.locator('#heatmap .hm-overlay').boundingBox();
	await page.mouse.move(b2.x + b2.width * 0.88, b2.y + 40);
	await page.mouse.down();
	await page.mouse.move(b2.x + b2.width - 1, b2.y + 60, { steps: 5 });
	await page.mouse.up();
	const z = await until('the zoomed image', async () => {
		const h = hashOf(page), d = await drawn(page);
		// (t=60, the default, stays out of the link.)
		const t = Number(h.get('t') || 60), e = Number(h.get('end'));
		return d && t < 300 && d.dur === t && d.start === e - t ?
			{ t, e, d } : null;
	});
	const wantT = Math.round(0.12 * 300);
	check(Math.abs(z.t - wantT) <= 2 && Math.abs(z.e - end) <= 2,
		`dragging over the last 12% of the map zooms to its ${z.t} s ` +
		`ending ${z.e} (wanted ${wantT} s ending ${end})`);
	await colourShot(page, 'zoomed', '#heatmap .hm-area', 200);

	// Back: half a range earlier.
	await page.click('#timebar .tb-back');
	const half = Math.round(z.t / 2);
	const back = await until('the image half a range back', async () => {
		const d = await drawn(page);
		return d && d.start === z.e - half - z.t ? d : null;
	});
	check(Number(hashOf(page).get('end')) === z.e - half, `◀ steps back ` +
		`half a range (end ${z.e} -> ${z.e - half}, image from ` +
		`${back.start})`);

	// The range is in the link: a new tab shows the same interval.
	const link = page.url();
	const page2 = await page.context().newPage();
	await as(page2, OP, '', link.replace(BASE, '/'));
	await until('the linked range', async () => {
		const d = await drawn(page2);
		return d && d.start === back.start && d.dur === z.t;
	});
	log(`ok: the share link restores the range (${z.t} s from ` +
		`${back.start})`);
	await page2.close();
	// Resume: live again.
	await page.click('#timebar .tb-pause');
	check(!hashOf(page).has('end'), 'resume: the link follows now again');

	// An absolute range: from/to in local time, within what the agent
	// keeps: the instrumentation must be 60 s old (a fast host gets here
	// 12 s after creating it, and the range would be refused as older).
	const born = (await api(`/ca/instrumentations/${hashOf(page).get('id')}`))
		.crtime / 1000;
	await until("60 s of data kept", async () =>
		(await api("/ca/admin/status")).now >= born + 60, 80000);
	const now = (await api('/ca/admin/status')).now;
	const terrOf = () => page.textContent('#timebar .tb-error');
	const local = t => page.evaluate(x => {
		const d = new Date(x * 1000), p = n => String(n).padStart(2, '0');
		return `${d.getFullYear()}-${p(d.getMonth() + 1)}-` +
			`${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:` +
			`${p(d.getSeconds())}`;
	}, t);
	await page.fill('#timebar .tb-from', await local(now - 40));
	await page.fill('#timebar .tb-to', await local(now - 10));
	await page.click('#timebar .tb-apply');
	let seen = null;
	const ab = await until('the absolute range', async () => {
		const d = seen = await drawn(page);
		return d && d.dur === 30 && d.start === now - 40 ? d : null;
	}, 20000).catch(async e => {
		const shown = await terrOf();
		throw new Error(`${e.message}; drawn: ${JSON.stringify(seen)}, ` +
			`link: ${page.url().split('#')[1]}, error shown: ` +
			`${JSON.stringify(shown)}`);
	});
	check(hashOf(page).get('t') === '30' && Number(hashOf(page)
		.get('end')) === now - 10, `an absolute range: 30 s from ` +
		`${ab.start}, in the link`);
	// A range that is not one: said, nothing changes.
	await page.fill('#timebar .tb-from', await local(now - 10));
	await page.fill('#timebar .tb-to', await local(now - 40));
	await page.click('#timebar .tb-apply');
	const terr = await page.textContent('#timebar .tb-error');
	check(/after/.test(terr) && hashOf(page).get('t') === '30',
		`a backwards range is refused: “${terr}”`);

	// Shift+wheel over the map scrolls back through time.
	const b3 = await page.locator('#heatmap .hm-overlay').boundingBox();
	await page.mouse.move(b3.x + b3.width / 2, b3.y + b3.height / 2);
	await page.keyboard.down('Shift');
	await page.mouse.wheel(0, -500);
	await page.keyboard.up('Shift');
	await until('the range scrolled back', async () => {
		const d = await drawn(page);
		return d && d.dur === 30 && d.start === now - 40 - 15;
	});
	check(Number(hashOf(page).get('end')) === now - 25, 'shift+wheel ' +
		'scrolls back half a range (end -15 s)');
	await page.click('#timebar .tb-pause');

	// A subsecond map: fixed to 0-1 s, no percentile lines.
	await page.goto(new URL('/#metric=vm.irqs&decomp=irqvector,subsecond',
		BASE).href);
	// (Only the hash changes: wait for the new view's map.)
	await until('interrupt pixels', async () => /subsecond/.test(
		await page.textContent('#heatmap .hm-ylabel')) && await drawn(page) &&
		(await canvasStats(page, '#heatmap .hm-image')).n > 5, 15000);
	const sy = await ticks(page, 'yaxis');
	const lines = await page.$$('#heatmap .line-label');
	const pressed = await page.$$eval(
		'#toolbar [data-opt=lines] [aria-pressed=true]', bs => bs.length);
	check(sy[0] === '0' && sy[sy.length - 1] === '1 s' && lines.length ===
		0 && pressed === 0, `a subsecond map is 0–1 s without lines ` +
		`(${sy.join(' | ')})`);
	await colourShot(page, 'subsecond', '#hm-panel', 5, 21);

	// No data: the map says which source and since when.
	await page.goto(new URL('/#metric=vm.physio_ops&decomp=offset',
		BASE).href);
	const why = await until('the no-data sentence', () => page.evaluate(() => {
		const e = document.querySelector('#heatmap .hm-empty');
		return e && !e.hidden && /replays/.test(e.textContent) &&
			e.textContent;
	}));
	check(/^No guest disk operations since \d\d:\d\d:\d\d.*holds no vm\.physio_ops records\.$/
		.test(why), `an empty map says why: “${why}”`);
	const oline = await page.$$('#heatmap .line-label');
	check(oline.length === 0, 'an offset map has no percentile lines');
	await shot(page, 'no-data', '#hm-panel');
}

// ---- dashboards ----------------------------------------------------------

async function dashboard(page, scope) {
	await page.goto(new URL('/dash.html', BASE).href);
	await page.waitForSelector('body[data-ready]', { timeout: 15000 });
	const n = await page.$$eval('.dpanel[data-metric]', ps => ps.length);
	check(n === 7, `${scope}: the default dashboard has 7 panels`);
	await until('the exits chart and latency map drawn', async () => {
		const c = await canvasStats(page, '.dpanel[data-decomp=vleavereason] canvas');
		const m = await canvasStats(page,
			'.dpanel[data-decomp="vleavereason,latency"] .hm-image');
		return c.n > 50 && m.n > 50;
	}, 15000);
	// One time axis: every map draws the same interval at the same place.
	const geo = await until('every map drawn over the same interval', () =>
		page.evaluate(() => {
			const maps = [...document.querySelectorAll('.dpanel .hm')];
			const g = maps.map(m => ({ start: m.dataset.drawn,
				dur: m.dataset.duration, left: Math.round(m.querySelector(
					'.hm-area').getBoundingClientRect().left),
				width: m.querySelector('.hm-image').width }));
			return g.length === 5 && g.every(x => x.start && x.start ===
				g[0].start && x.dur === g[0].dur && x.left === g[0].left &&
				x.width === g[0].width) ? g[0] : null;
		}), 15000);
	check(Number(geo.dur) === 300, `${scope}: 5 maps share one time axis ` +
		`(${geo.dur} s from ${geo.start}, x ${geo.left}, ${geo.width} px)`);
	const lat = await page.$$eval('.dpanel[data-decomp="vleavereason,latency"] .hm-yaxis .tick',
		ts => ts.map(t => t.textContent));
	check(lat.every(t => /^(1|10|100) (ns|µs|ms|s)$/.test(t)),
		`${scope}: exit latency in log scale (${lat.join(' | ')})`);
	const empty = await page.textContent(
		'.dpanel[data-metric="vm.thread_samples"] .hm-empty');
	// A tenant's status names no sources: it learns only about its VMs.
	check((scope === 'tenant' ? /from your VMs since \d\d:\d\d:\d\d/ :
		/no vm\.thread_samples records/).test(empty), `${scope}: an ` +
		`empty panel says why (“${empty.slice(0, 60)}…”)`);
	if (scope === 'operator') {
		// (Give the new exits chart a few seconds of bands.)
		await until('the exits chart filling', async () => (await
			canvasStats(page, '.dpanel[data-decomp=vleavereason] canvas'))
			.n > 1500, 30000);
		await colourShot(page, 'dashboard', '.dash-wrap', 500);
		await colourShot(page, 'panel',
			'.dpanel[data-decomp="vleavereason,latency"]', 200);
	}
	if (scope === 'operator') {
		// Drag across a chart: every panel zooms to that range.
		const cb = await page.locator(
			'.dpanel[data-decomp=vleavereason] canvas').boundingBox();
		await page.mouse.move(cb.x + 73 + (cb.width - 73 - 96) * 0.8,
			cb.y + 60);
		await page.mouse.down();
		await page.mouse.move(cb.x + cb.width - 97, cb.y + 80,
			{ steps: 5 });
		await page.mouse.up();
		const zt = await until('every map at the chart\'s range', () =>
			page.evaluate(() => {
				const h = new URLSearchParams(location.hash.slice(1));
				const t = Number(h.get('t') || 60);
				const ds = [...document.querySelectorAll('.dpanel .hm')]
					.map(m => Number(m.dataset.duration));
				return t < 300 && h.has('end') && ds.every(d => d === t) &&
					t;
			}));
		check(Math.abs(zt - 60) <= 3, `dragging over the last 20% of ` +
			`the exits chart zooms every map to ${zt} s`);
		await page.click('#timebar [data-range="300"]');
		// Add a map: vm.exits by vCPU, a chart.
		await page.selectOption('#add-metric', 'vm.exits');
		await page.selectOption('#add-disc', 'vcpu');
		await page.click('#dash-add button[type=submit]');
		await until('the added panel drawn', async () => (await
			canvasStats(page, '.dpanel[data-decomp=vcpu] canvas')).n > 50);
		check(JSON.parse(hashOf(page).get('d')).length === 8,
			'operator: a map added (8 panels, in the link)');
	}
	return n;
}

async function run(browser, errors) {
	log('chromium started');
	mkdirSync(SHOTS, { recursive: true });
	if (DOCS)
		mkdirSync(DOCS, { recursive: true });
	const ctx = await browser.newContext({ viewport: { width: 1360,
		height: 900 } });
	const page = await ctx.newPage();
	watch(page, errors);
	page.on('dialog', d => d.accept('triage'));

	// ---- the operator ----
	await as(page, OP, '', '/');
	await page.waitForSelector('body[data-ready]', { timeout: 15000 });
	log('signed in as the operator');
	await analytics(page);
	await dashboard(page, 'operator');
	// Save it (as "triage", the dialog's answer), less one panel.
	await page.click('.dpanel[data-metric="nic.vnic_bytes"] .remove');
	await page.click('#dash-save');
	await until('the saved dashboard', () => page.evaluate(() =>
		Object.keys(localStorage).find(k => /:operator$/.test(k) &&
			JSON.parse(localStorage.getItem(k)).triage)));
	check(hashOf(page).get('name') === 'triage' &&
		JSON.parse(hashOf(page).get('d')).length === 7,
	'operator: saved as “triage” (7 panels), named in the link');
	const dlink = page.url();
	// The link alone (another browser: no saved dashboards) shows it.
	const other = await (await browser.newContext({ viewport:
		{ width: 1360, height: 900 } })).newPage();
	watch(other, errors);
	await as(other, OP, '', dlink.replace(BASE, '/'));
	await other.waitForSelector('body[data-ready]', { timeout: 15000 });
	const on = await other.$$eval('.dpanel[data-metric]', ps => ps.length);
	check(on === 7, `the dashboard's link shows it elsewhere (${on} panels)`);
	await other.close();
	// kvmstat as the operator: both VMs, by pid.
	await page.goto(new URL('/kvmstat.html', BASE).href);
	const ovms = await until('both VMs in kvmstat', () => page.evaluate(() => {
		// (kvmtest runs as two processes: two pids, one name.)
		const n = [...new Set([...document.querySelectorAll(
			'tr.vm td.l a')].map(a => a.textContent))].sort();
		return n.length === 2 && n.every(x => !x.startsWith('pid ')) &&
			document.body.dataset.key === 'pid' && n;
	}), 20000);
	check(ovms.join() === [VA, VB].sort().join(),
		`operator: kvmstat lists ${ovms.join(', ')} by pid`);

	// ---- tenant acme ----
	await as(page, TA, 'acme', '/kvmstat.html');
	const rows = await until('acme\'s vCPU rows', () => page.evaluate(() => {
		const vms = [...document.querySelectorAll('tr.vm td.l a')]
			.map(a => a.textContent);
		const r = document.querySelector('tr[data-vcpu]');
		const cells = r ? [...r.querySelectorAll('td[data-value]')]
			.map(td => Number(td.dataset.value)) : [];
		const [exits, ...reasons] = cells;
		return vms.length && exits > 0 && reasons.length &&
			reasons.reduce((a, b) => a + b, 0) === exits ?
			{ vms, exits, key: document.body.dataset.key } : null;
	}), 20000);
	check(rows.key === 'vm' && rows.vms.join() === VA,
		`tenant: kvmstat works, by vm, its VM only (${rows.vms.join()}: ` +
		`${rows.exits} exits/s = sum of reasons)`);
	const text = await page.textContent('body');
	check(!text.includes(VB), `tenant: kvmstat shows nothing of ${VB}`);
	await colourShot(page, 'tenant-kvmstat', '.kvmstat-wrap', 10);
	await page.goto(new URL('/#metric=vm.exits&decomp=vleavereason,latency',
		BASE).href);
	await until('the tenant\'s heatmap', async () => (await canvasStats(page,
		'#heatmap .hm-image')).n > 20, 15000);
	const tsub = await page.textContent('#view-sub');
	const tinst = await api('/ca/customers/acme/instrumentations', TA);
	check(tinst.some(i => tsub.includes(`#${i.id}`)) && (await page
		.getAttribute('#toolbar [data-opt=scale] [aria-pressed=true]',
			'data-v')) === 'log', `tenant: the analytics page draws its ` +
		`latency map in log scale (${tsub.split(' · ').slice(0, 2).join(' · ')})`);
	const picked = await page.$$eval('#legend .key[data-key]', ks =>
		ks.map(k => k.dataset.key));
	check(picked.length > 0, `tenant: its map's keys ${picked.join(', ')}`);
	const tn = await dashboard(page, 'tenant');
	const tpick = await page.$$eval('#dash-pick option', os =>
		os.map(o => o.value));
	check(tn === 7 && !tpick.includes('triage'), `tenant: the operator's ` +
		`saved dashboards are not offered (${tpick.join(', ')})`);
	await colourShot(page, 'tenant-dashboard', '.dash-wrap', 300);
}

async function main() {
	const browser = await launch();
	const errors = [];
	try {
		await run(browser, errors);
	} catch (e) {
		for (const [i, pg] of browser.contexts().flatMap(c => c.pages())
			.entries())
			await pg.screenshot({ path: `${SHOTS}/failed-${i}.png`,
				fullPage: true }).catch(() => {});
		throw e;
	} finally {
		await browser.close();
	}
	check(errors.length === 0, `no uncaught errors in the pages` +
		(errors.length ? `: ${errors.join('; ')}` : ''));
}

try {
	await main();
	log('all checks passed');
	process.exit(0);
} catch (e) {
	console.log(e instanceof Failed ? `FAILED: ${e.message}` : e.stack);
	process.exit(1);
}
