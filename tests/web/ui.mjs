// ui.mjs - clicks through the web UI in Debian's chromium (t_ui.sh runs it
// against a replaying agent).
//
// Each step checks what a person would see, not only that a page loaded:
// the heatmap's pixels are read back from its canvas and from screenshots
// (decoded by the browser) and must be non-white in the hue the legend
// shows; details must add up; the share link must bring the same view back
// without creating a second instrumentation; killing the agent must raise
// the banner and restarting it must clear it.  Exits 0 on success, 1 on a
// failed check, 77 if the browser cannot be started.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import process from 'node:process';
import { log, Failed, check, until, canvasStats, pngStats, hueDist,
	watch, launch } from './lib.mjs';

const BASE = process.env.BASE;			// http://127.0.0.1:PORT/
const SHOTS = process.env.SHOTS;		// screenshot directory
const AGENT_PID = Number(process.env.AGENT_PID);
const AGENT_CMD = JSON.parse(process.env.AGENT_CMD);	// argv to restart
const AGENT2_PIDFILE = process.env.AGENT2_PIDFILE;


async function api(path, opts) {
	const r = await fetch(new URL(path, BASE), opts);
	if (!r.ok)
		throw new Failed(`${path}: HTTP ${r.status}`);
	return r.status === 204 ? null : r.json();
}

async function shot(page, name, el) {
	const path = `${SHOTS}/${name}.png`;
	const buf = el ? await page.locator(el).screenshot({ path }) :
		await page.screenshot({ path, fullPage: true });
	log(`screenshot ${path}`);
	return buf;
}

async function heatmapDrawnAfter(page, prev) {
	return until('a new heatmap', () => page.evaluate(p => {
		const d = document.querySelector('#heatmap').dataset.drawn;
		return d && d !== p ? d : null;
	}, prev || ''), 8000);
}

async function main() {
	mkdirSync(SHOTS, { recursive: true });
	const browser = await launch();
	const errors = [];
	try {
		await run(browser, errors);
	} catch (e) {
		// What the pages looked like when it failed.
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

async function run(browser, errors) {
	const desc = await api('/ca');
	const ctx = await browser.newContext({ viewport: { width: 1440,
		height: 1000 } });
	const page = await ctx.newPage();
	watch(page, errors);

	// ---- the form is driven by GET /ca ----
	await page.goto(BASE);
	await page.waitForSelector('body[data-ready]', { timeout: 10000 });
	// ---- the other hosts' agents (serve --peers) are linked ----
	await until('the peers bar', async () =>
		(await page.$$('#peers a')).length > 0);
	const peers = await page.$$eval('#peers a', as => as.map(a =>
		[a.textContent, a.getAttribute('href'), a.offsetWidth > 0]));
	check(peers.length === 1 && peers[0][0] === 'host-b' &&
		peers[0][1] === 'http://192.0.2.7:23181/' && peers[0][2],
	`the peer agent is a visible link (${JSON.stringify(peers)})`);
	const options = await page.$$eval('#metric option', os =>
		os.map(o => o.value));
	check(options.length === desc.metrics.length && desc.metrics.every(m =>
		options.includes(`${m.module}.${m.stat}`)),
	`metric list has GET /ca's ${desc.metrics.length} metrics`);
	await page.selectOption('#metric', 'vm.exits');
	const numeric = await page.$$eval('#decomp-numeric option', os =>
		os.map(o => o.value).filter(Boolean));
	const exits = desc.metrics.find(m => m.stat === 'exits');
	const wantNumeric = exits.fields.filter(f =>
		desc.types[desc.fields[f].type].arity === 'numeric');
	check(numeric.join() === wantNumeric.join(),
		`numeric choices are the numeric fields (${numeric.join(', ')})`);

	// ---- create vm.exits by vleavereason and latency ----
	const before = (await api('/ca/instrumentations')).length;
	await page.selectOption('#decomp-discrete', 'vleavereason');
	await page.selectOption('#decomp-numeric', 'latency');
	await page.click('#create');
	await until('the new instrumentation in the URL', () =>
		/[#&]id=\d+/.test(page.url()));
	const id = /[#&]id=(\w+)/.exec(page.url())[1];
	const created = await api(`/ca/instrumentations/${id}`);
	check(created.decomposition.join() === 'vleavereason,latency' &&
		(await api('/ca/instrumentations')).length === before + 1,
	`instrumentation #${id} created by vleavereason, latency`);
	await until('heatmap pixels', async () => (await canvasStats(page,
		'#heatmap .hm-image')).n > 20, 10000);
	const allStats = await canvasStats(page, '#heatmap .hm-image');
	const restHue = Number(await page.getAttribute('#legend .key.rest',
		'data-hue'));
	check(restHue === 21 && hueDist(allStats.hue, restHue) < 6,
		`heatmap cells are in the legend's hue (${allStats.hue.toFixed(1)}` +
		`° vs ${restHue}°, ${allStats.n} coloured pixels)`);
	const yl = await page.$$eval('#heatmap .hm-yaxis .tick', ts =>
		ts.map(t => t.textContent));
	check(yl.length >= 3 && yl.every(t =>
		/^(0|\d+(\.\d+)? (ns|µs|ms|s))$/.test(t)),
	`y labels are human times: ${yl.join(' | ')}`);
	const xl = await page.$$eval('#heatmap .hm-xaxis .tick', ts =>
		ts.map(t => t.textContent));
	check(xl.length >= 3 && xl.every(t => /^\d\d:\d\d:\d\d$/.test(t)),
		`x labels are clock times: ${xl.join(' | ')}`);

	// ---- legend: the keys the agent reports ----
	// (The page and this request may see different seconds: wait for
	// the page to catch up with the keys the agent reports.)
	let chips = [];
	await until('the legend listing the keys present', async () => {
		const img = await api(
			`/ca/instrumentations/${id}/value/heatmap/image`);
		chips = await page.$$eval('#legend .key[data-key]', ks =>
			ks.map(k => k.dataset.key));
		return img.present.length > 0 && img.present.every(k =>
			chips.includes(k));
	});
	check(chips.length > 0, `legend lists the keys present: ` +
		chips.join(', '));

	// ---- percentile lines ----
	await until('percentile labels', async () => (await page.$$(
		'#heatmap .line-label')).length === 2);
	const ll = await page.$$eval('#heatmap .line-label', ls =>
		ls.map(l => l.textContent));
	check(ll.every(t => /^p(50|99) \d+(\.\d+)? (ns|µs|ms|s)$/.test(t)),
		`percentile lines labelled in human units: ${ll.join(' | ')}`);
	const ov = await canvasStats(page, '#heatmap .hm-overlay');
	check(ov.n > 10, `percentile lines drawn (${ov.n} line pixels)`);

	// ---- click the darkest cell: details ----
	const box = await page.locator('#heatmap .hm-overlay').boundingBox();
	await page.mouse.click(box.x + allStats.x + 0.5, box.y + allStats.y + 0.5);
	await page.waitForSelector('#details .details-total .big',
		{ timeout: 5000 });
	const det = await page.evaluate(() => ({
		total: Number(document.querySelector('#details .big').dataset.total),
		parts: [...document.querySelectorAll('#details td.num')]
			.map(t => Number(t.textContent)),
		head: document.querySelector('#details .details-head').textContent,
	}));
	check(det.total > 0 && det.parts.length > 0 &&
		det.parts.reduce((a, b) => a + b, 0) === det.total,
	`details of the clicked cell: ${det.total} = ` +
		`${det.parts.join(' + ')} (${det.head.trim()})`);
	check(/\d\d:\d\d:\d\d · latency [\d.]+ – [\d.]+ (ns|µs|ms|s)/
		.test(det.head), 'details name the cell in human units');
	await shot(page, '1-heatmap');

	// ---- select a key and isolate it ----
	const key = chips.includes('io') ? 'io' : chips[0];
	const drawn0 = await page.getAttribute('#heatmap', 'data-drawn');
	await page.click(`#legend .key[data-key="${key}"]`);
	await page.click('#toolbar [data-opt=mode] [data-v=isolate]');
	await until(`${key} isolated`, async () => {
		const hue = await page.getAttribute(
			`#legend .key[data-key="${key}"]`, 'data-hue');
		const rest = await page.$('#legend .key.rest');
		return hue !== null && !rest;
	});
	await heatmapDrawnAfter(page, drawn0);
	const keyHue = Number(await page.getAttribute(
		`#legend .key[data-key="${key}"]`, 'data-hue'));
	const pressed = await page.getAttribute(
		`#legend .key[data-key="${key}"]`, 'aria-pressed');
	const isoStats = await until('isolated pixels', async () => {
		const s = await canvasStats(page, '#heatmap .hm-image');
		return s.n > 5 && hueDist(s.hue, keyHue) < 6 ? s : null;
	}, 6000);
	check(pressed === 'true' && keyHue !== restHue,
		`legend shows ${key} selected in hue ${keyHue}°`);
	const inBins = (st, hue) => st.hues.filter((_, i) =>
		hueDist(i * 10 + 5, hue) <= 10).reduce((a, b) => a + b, 0);
	check(inBins(isoStats, restHue) === 0 && inBins(isoStats, keyHue) >
		0.95 * isoStats.n, `isolating ${key} draws only its hue ` +
		`(${inBins(isoStats, keyHue)} of ${isoStats.n} pixels near ` +
		`${keyHue}°, none near ${restHue}°)`);
	// What the person sees: the screenshot, decoded, is in that hue too.
	const png = await shot(page, '2-isolated', '#heatmap .hm-area');
	const ps = await pngStats(page, png);
	const near = inBins(ps, keyHue);
	check(near > ps.n / 2, `screenshot of the heatmap is mostly hue ` +
		`${keyHue}° (${near} of ${ps.n} coloured pixels)`);

	// ---- the share link restores the view, reusing the instrumentation ----
	const link = page.url();
	check(/mode=isolate/.test(link) && new RegExp(`sel=${key}`).test(link),
		`link carries the view: ${link.replace(BASE, '/')}`);
	const count = (await api('/ca/instrumentations')).length;
	const page2 = await (await browser.newContext({ viewport:
		{ width: 1280, height: 900 } })).newPage();
	watch(page2, errors);
	await page2.goto(link);
	await until('restored heatmap pixels', async () => {
		const s = await canvasStats(page2, '#heatmap .hm-image');
		return s.n > 5 && hueDist(s.hue, keyHue) < 6;
	});
	const restored = await page2.evaluate(k => ({
		metric: document.querySelector('#metric').value,
		disc: document.querySelector('#decomp-discrete').value,
		num: document.querySelector('#decomp-numeric').value,
		mode: document.querySelector(
			'#toolbar [data-opt=mode] [aria-pressed=true]').dataset.v,
		key: document.querySelector(`#legend .key[data-key="${k}"]`)
			.getAttribute('aria-pressed'),
		sub: document.querySelector('#view-sub').textContent,
	}), key);
	check(restored.metric === 'vm.exits' && restored.disc ===
		'vleavereason' && restored.num === 'latency' &&
		restored.mode === 'isolate' && restored.key === 'true',
	`link restores metric, decomposition, mode and selection`);
	check(restored.sub.includes(`#${id}`) &&
		(await api('/ca/instrumentations')).length === count,
	`link reuses instrumentation #${id} (no duplicate)`);
	await shot(page2, '3-restored');

	// ---- a link to something not instrumented yet: a line chart ----
	await page2.goto(new URL('/#metric=vm.exits&decomp=vcpu', BASE).href);
	// The chart draws key "0" (the only vCPU) in the first palette colour,
	// #e8590c: hue 22°.
	await until('line chart pixels in the key\'s colour', async () => {
		const st = await canvasStats(page2, '#linechart canvas');
		return st.n > 50 && hueDist(st.hue, 22) < 8;
	}, 10000);
	const lc = await until('a vCPU with exits in the legend', () =>
		page2.evaluate(() => {
			const r = document.querySelector('#lc-legend tr[data-key="0"]');
			return r && Number(r.querySelector('td.num').textContent) > 0 &&
				[...r.cells].map(c => c.textContent.trim()).join(' | ');
		}), 8000);
	check((await api('/ca/instrumentations')).length === count + 1,
		`line chart of vm.exits by vcpu from a link (vCPU | latest | mean | max: ${lc})`);
	await shot(page2, '4-linechart');

	// ---- clone, then delete, from the list ----
	const n0 = (await api('/ca/instrumentations')).length;
	const idBefore = /[#&]id=(\w+)/.exec(page2.url())[1];
	await page2.click('#list .instn.current .clone');
	await until('the clone shown', () => {
		const m = /[#&]id=(\w+)/.exec(page2.url());
		return m && m[1] !== idBefore;
	});
	check((await api('/ca/instrumentations')).length === n0 + 1,
		'clone adds an instrumentation and shows it');
	await page2.click('#list .instn.current .del');
	await page2.waitForSelector('#placeholder:not([hidden])');
	check((await api('/ca/instrumentations')).length === n0,
		'delete removes it and closes the view');

	// ---- kvmstat ----
	const withoutKvmstat = (await api('/ca/instrumentations')).length;
	await page2.goto(new URL('/kvmstat.html', BASE).href);
	const ks = await until('a consistent vCPU row', () => page2.evaluate(() => {
		const r = document.querySelector('tr[data-vcpu]');
		if (!r)
			return null;
		const cells = [...r.querySelectorAll('td[data-value]')]
			.map(td => Number(td.dataset.value));
		const [exits, ...reasons] = cells;
		return exits > 0 && reasons.length > 0 &&
			reasons.reduce((a, b) => a + b, 0) === exits ?
			{ exits, reasons, cols: [...document.querySelectorAll(
				'#head th')].map(t => t.textContent) } : null;
	}), 15000);
	check(ks.cols.includes('exits'), `kvmstat: vCPU row with ${ks.exits} ` +
		`exits/s = sum of ${ks.reasons.length} reasons ` +
		`(${ks.cols.slice(3).join(', ')})`);
	await shot(page2, '5-kvmstat');
	const withKvmstat = (await api('/ca/instrumentations')).length;
	check(withKvmstat > withoutKvmstat, `kvmstat made ` +
		`${withKvmstat - withoutKvmstat} instrumentations`);

	// ---- drill down from a vCPU row to its heatmap ----
	await page2.click('tr[data-vcpu] td.vcpu a');
	await until('the vCPU\'s heatmap', async () => (await canvasStats(page2,
		'#heatmap .hm-image')).n > 5, 10000);
	const drill = await page2.evaluate(() => ({
		sub: document.querySelector('#view-sub').textContent,
		rows: [...document.querySelectorAll('#pred-rows .pred-row')]
			.map(r => [...r.querySelectorAll('select, input')]
				.map(x => x.value).join(' ')),
	}));
	check(/where pid = \d+ and vcpu = \d+/.test(drill.sub) &&
		drill.rows.length === 2, `vCPU row drills down to a filtered ` +
		`heatmap (${drill.rows.join('; ')})`);
	// Leaving kvmstat deleted its instrumentations; the heatmap made one.
	await until('kvmstat\'s instrumentations deleted on leaving', async () =>
		(await api('/ca/instrumentations')).length === withoutKvmstat + 1,
	5000);
	log('ok: kvmstat deletes its instrumentations when the page goes');
	await shot(page2, '6-drilldown');
	await page2.close();

	// ---- the agent goes away: banner; comes back: banner clears ----
	check(await page.isHidden('#banner'), 'no banner while the agent runs');
	process.kill(AGENT_PID, 'SIGTERM');
	await page.waitForSelector('#banner:not([hidden])', { timeout: 8000 });
	const banner = await page.textContent('#banner');
	check(/Cannot reach the kvmscope agent/.test(banner) &&
		await page.$('#agent.down') !== null,
	`banner when the agent is killed: “${banner.trim().replace(/\s+/g,
		' ')}”`);
	await shot(page, '7-unreachable');
	const drawnDown = await page.getAttribute('#heatmap', 'data-drawn');
	const again = spawn(AGENT_CMD[0], AGENT_CMD.slice(1),
		{ stdio: ['ignore', 'ignore', 'inherit'] });
	if (AGENT2_PIDFILE)
		(await import('node:fs')).writeFileSync(AGENT2_PIDFILE,
			String(again.pid));
	await page.waitForSelector('#banner[hidden]', { state: 'attached',
		timeout: 12000 });
	log('ok: banner clears when the agent is back');
	await heatmapDrawnAfter(page, drawnDown);
	const note = await page.textContent('#view-note');
	check(/was gone .* created again as #\d+/.test(note) && !(await page.isHidden(
		'#view-note')), `view recreated its instrumentation: “${note}”`);
	await until('heatmap pixels after the restart', async () =>
		(await canvasStats(page, '#heatmap .hm-image')).n > 5, 8000);
	await shot(page, '8-back');
	again.kill('SIGTERM');
}

try {
	await main();
	log('all checks passed');
	process.exit(0);
} catch (e) {
	console.log(e instanceof Failed ? `FAILED: ${e.message}` : e.stack);
	process.exit(1);
}
