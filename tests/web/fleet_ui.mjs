// fleet_ui.mjs - the web UI of `kvmscope fleet` in Debian's chromium
// (t_fleet_ui.sh runs it against a fleet over 8 replaying agents).
//
// Checks the Hosts card (every host a link to its agent, the reporting
// and stale counts), the drill-down from a hostname key of a heatmap
// cell's details (and from a key of the line chart's legend) to that
// host's agent with the same view in the hash, and
// that stopping an agent marks its host stale.  Exits 0 on success, 1 on a
// failed check, 77 if the browser cannot be started.
import { mkdirSync } from 'node:fs';
import process from 'node:process';
import { log, Failed, check, until, canvasStats, watch, launch } from
	'./lib.mjs';

const BASE = process.env.BASE;			// the fleet, http://...:PORT/
const SHOTS = process.env.SHOTS;
const AGENT_PIDS = JSON.parse(process.env.AGENT_PIDS);	// hostname: pid
const N = Number(process.env.NAGENTS);

async function api(path) {
	const r = await fetch(new URL(path, BASE));
	if (!r.ok)
		throw new Failed(`${path}: HTTP ${r.status}`);
	return r.json();
}

const hostsCard = page => page.evaluate(() => ({
	hidden: document.querySelector('#hosts-card').hidden,
	count: document.querySelector('#hosts-count').textContent,
	hosts: [...document.querySelectorAll('#hosts li')].map(li => ({
		name: li.dataset.host, stale: li.classList.contains('stale'),
		href: li.querySelector('a') ? li.querySelector('a')
			.getAttribute('href') : null })) }));

// [hostname key, href] of every host link in the rows under sel.
const hostLinks = (page, sel) => page.$$eval(`${sel} tr[data-key] a.host-link`,
	as => as.map(a => [a.closest('tr').dataset.key, a.getAttribute('href')]));

// Each link opens vm.exits by decomp on its host's agent: the share hash
// without an id, filtered to that host.
function checkHostLinks(links, agentOf, decomp, what) {
	for (const [name, href] of links) {
		const i = href.indexOf('#');
		const q = new URLSearchParams(href.slice(i + 1));
		check(i > 0 && href.slice(0, i).replace(/\/$/, '') ===
			agentOf[name].replace(/\/$/, '') &&
			q.get('metric') === 'vm.exits' &&
			q.get('decomp') === decomp && !q.has('id') &&
			JSON.stringify(JSON.parse(q.get('pred'))) ===
				JSON.stringify({ eq: ['hostname', name] }),
		`${name}'s ${what} opens the view on its agent: ${href}`);
	}
}

async function run(browser, errors) {
	const page = await (await browser.newContext({ viewport: { width: 1440,
		height: 1000 } })).newPage();
	watch(page, errors);
	await page.goto(BASE);
	await page.waitForSelector('body[data-ready]', { timeout: 15000 });

	// ---- the Hosts card: every host, reporting, linked to its agent ----
	let card;
	await until(`the Hosts card with ${N} reporting hosts`, async () => {
		card = await hostsCard(page);
		return !card.hidden && card.hosts.length === N &&
			card.count === `${N} reporting · 0 stale`;
	}, 20000);
	const status = await api('/ca/admin/status');
	const agentOf = Object.fromEntries(status.fleet.hosts.map(h =>
		[h.hostname, h.agent]));
	check(card.hosts.every(h => h.href && h.href === agentOf[h.name] &&
		/^http:\/\/127\.0\.0\.1:\d+/.test(h.href)),
	`the Hosts card lists ${N} hosts, each a link to its agent ` +
		`(${card.hosts.map(h => h.name).join(', ')})`);

	// ---- drill-down: vm.exits by hostname and latency ----
	await page.selectOption('#metric', 'vm.exits');
	await page.selectOption('#decomp-discrete', 'hostname');
	await page.selectOption('#decomp-numeric', 'latency');
	await page.click('#create');
	await until('the new instrumentation in the URL', () =>
		/[#&]id=\d+/.test(page.url()), 15000);
	await until('heatmap pixels', async () => (await canvasStats(page,
		'#heatmap .hm-image')).n > 5, 30000);
	const st = await canvasStats(page, '#heatmap .hm-image');
	const box = await page.locator('#heatmap .hm-overlay').boundingBox();
	await page.mouse.click(box.x + st.x + 0.5, box.y + st.y + 0.5);
	await page.waitForSelector('#details a.host-link', { timeout: 10000 });
	const links = await hostLinks(page, '#details');
	check(links.length > 0, `the cell's hostname keys are links ` +
		`(${links.map(l => l[0]).join(', ')})`);
	checkHostLinks(links, agentOf, 'hostname,latency', 'key');
	// The link opens there: the agent's page restores the view.
	const [name0, href0] = links[0];
	const p2 = await page.context().newPage();
	watch(p2, errors);
	await p2.goto(href0);
	await p2.waitForSelector('body[data-ready]', { timeout: 15000 });
	await until(`${name0}'s agent showing the view`, () => p2.evaluate(() =>
		/[#&]id=\w+/.test(location.hash) &&
		!document.querySelector('#view').hidden), 15000);
	const there = new URLSearchParams(new URL(p2.url()).hash.slice(1));
	check(there.get('metric') === 'vm.exits' &&
		there.get('decomp') === 'hostname,latency',
	`${name0}'s agent opened vm.exits by hostname, latency`);
	await p2.close();

	// ---- the line chart's legend (no numeric decomposition) links too ----
	await page.goto(BASE);
	await page.waitForSelector('body[data-ready]', { timeout: 15000 });
	await page.selectOption('#metric', 'vm.exits');
	await page.selectOption('#decomp-discrete', 'hostname');
	await page.selectOption('#decomp-numeric', '');
	await page.click('#create');
	let legend = [];
	await until('hostname keys linked in the line chart legend', async () =>
		(legend = await hostLinks(page, '#lc-legend')).length > 0, 30000);
	checkHostLinks(legend, agentOf, 'hostname', 'legend key');
	// A click on the link is not a click on the row (which hides it).
	const hiddenBefore = await page.$$eval('#lc-legend tr.off', r => r.length);
	await page.click(`#lc-legend tr[data-key="${legend[0][0]}"] a.host-link`,
		{ modifiers: ['Control'] });
	await new Promise(r => setTimeout(r, 500));
	check(await page.$$eval('#lc-legend tr.off', r => r.length) ===
		hiddenBefore, 'a legend link does not hide its series');

	// ---- an agent stops: its host is stale ----
	const last = `host${N}`;
	process.kill(AGENT_PIDS[last], 'SIGKILL');
	await until(`${last} stale in the Hosts card`, async () => {
		card = await hostsCard(page);
		return card.count === `${N - 1} reporting · 1 stale`;
	}, 20000);
	check(card.hosts.length === N && card.hosts.filter(h => h.stale)
		.map(h => h.name).join() === last,
	`after ${last} stopped: "${card.count}", ${last} marked stale`);
	mkdirSync(SHOTS, { recursive: true });
	await page.screenshot({ path: `${SHOTS}/fleet.png`, fullPage: true });
}

async function main() {
	const browser = await launch();
	const errors = [];
	try {
		await run(browser, errors);
	} finally {
		await browser.close();
	}
	check(errors.length === 0, 'no uncaught errors in the pages' +
		(errors.length ? `: ${errors.join('; ')}` : ''));
}

main().then(() => process.exit(0), e => {
	console.log(e instanceof Failed ? `FAILED: ${e.message}` : e.stack);
	process.exit(1);
});
