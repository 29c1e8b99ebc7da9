// shoot.mjs - screenshots of the web UI showing the seed's pictures, as a
// person sees them: the view's title and description, the heatmap with its
// axes and units, and the legend (t_demo.sh runs it against `make demo`'s
// agents while every workload runs).
//
//   node shoot.mjs OUTDIR NAME URL KEY... [-- NAME URL KEY...]...
//
// URL is the agent's page with a share-link hash (web/viewstate.js: metric,
// decomp, id, nb, ymax, lines; nothing newer), so the view opens on an
// instrumentation that already exists.  For each, once the heatmap has been
// drawn twice (the second time with data), it saves OUTDIR/NAME.png (the
// view section) and checks what a person would see: the heatmap's canvas
// has enough non-white pixels, the screenshot decoded again has them too,
// the title is set, and the legend names every KEY.  Exits 0 when all
// pass, 1 on a failed check, 77 when the browser cannot be started.
import { mkdirSync } from 'node:fs';
import process from 'node:process';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const T0 = Date.now();
let chromium;
try {
	({ chromium } = await import('playwright-core'));
} catch (e) {
	console.log(`playwright-core cannot be loaded: ${e.message}`);
	process.exit(77);
}

function log(msg) {
	console.log(`[${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}`);
}
let bad = 0;
function check(cond, msg) {
	console.log(`${cond ? 'ok  ' : 'BAD '} ${msg}`);
	if (!cond)
		bad++;
}

// Colored (not white, not grey) pixels of RGBA data.
const COLORED = `(d) => {
	let n = 0;
	for (let i = 0; i < d.length; i += 4) {
		const r = d[i], g = d[i + 1], b = d[i + 2];
		if (Math.max(r, g, b) - Math.min(r, g, b) > 40) n++;
	}
	return n;
}`;

async function shoot(page, dir, name, url, keys) {
	await page.goto(url);
	// Drawn once (maybe empty), then again with a second of data.
	let first = null;
	const end = Date.now() + 60000;
	for (;;) {
		const d = await page.evaluate(() =>
			document.querySelector('#heatmap')?.dataset.drawn || null);
		if (d && first === null)
			first = d;
		else if (d && d !== first)
			break;
		if (Date.now() > end)
			break;
		await page.waitForTimeout(250);
	}
	await page.waitForTimeout(500);
	const canvas = await page.evaluate(fn => {
		const c = document.querySelector('#heatmap canvas.hm-image');
		if (!c || !c.width)
			return -1;
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
		return eval(fn)(d.data);
	}, COLORED);
	const title = await page.textContent('#view-title');
	const legend = await page.textContent('#legend');
	const path = `${dir}/${name}.png`;
	const png = await page.locator('#view').screenshot({ path });
	const shot = await page.evaluate(async ([b64, fn]) => {
		const blob = await (await fetch('data:image/png;base64,' + b64)).blob();
		const bm = await createImageBitmap(blob);
		const c = new OffscreenCanvas(bm.width, bm.height);
		const g = c.getContext('2d');
		g.drawImage(bm, 0, 0);
		return eval(fn)(g.getImageData(0, 0, bm.width, bm.height).data);
	}, [png.toString('base64'), COLORED]);
	log(`${path}: title "${title}", ${canvas} colored heatmap pixels, ` +
		`${shot} in the screenshot`);
	check(title && title.trim().length > 0, `${name}: the view has a title`);
	check(canvas >= 200, `${name}: the heatmap has >= 200 colored pixels (${canvas})`);
	check(shot >= canvas / 2, `${name}: the screenshot shows them (${shot})`);
	for (const k of keys)
		check(legend.includes(k), `${name}: the legend names ${k}`);
}

const [dir, ...rest] = process.argv.slice(2);
const jobs = [];
for (let i = 0; i < rest.length;) {
	const j = rest.indexOf('--', i);
	const part = rest.slice(i, j < 0 ? rest.length : j);
	jobs.push({ name: part[0], url: part[1], keys: part.slice(2) });
	i = j < 0 ? rest.length : j + 1;
}
mkdirSync(dir, { recursive: true });
let browser;
try {
	browser = await chromium.launch({ executablePath: CHROMIUM,
		args: ['--headless', '--no-sandbox', '--disable-gpu',
			'--disable-quic', '--no-first-run',
			'--disable-background-networking',
			'--disable-component-update', '--disable-sync'] });
} catch (e) {
	console.log(`chromium cannot be started: ${e.message.split('\n')[0]}`);
	process.exit(77);
}
try {
	const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
	for (const j of jobs) {
		try {
			await shoot(page, dir, j.name, j.url, j.keys);
		} catch (e) {
			check(false, `${j.name}: ${e.message.split('\n')[0]}`);
		}
	}
} finally {
	await browser.close();
}
process.exit(bad ? 1 : 0);
