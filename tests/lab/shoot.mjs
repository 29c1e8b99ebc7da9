// shoot.mjs - screenshots of the web UI showing the seed's pictures, as a
// person sees them: the view's title and description, the heatmap with its
// axes and units, and the legend (t_demo.sh runs it against `make demo`'s
// agents while every workload runs; t_pictures_l1.sh and t_picture_disk.sh
// against their own agents, each view pinned to its phase's seconds).
//
//   node shoot.mjs OUTDIR NAME URL KEY... [-- NAME URL KEY...]...
//
// With SHOOT_TOKEN set (an agent with a token file), the page holds that
// bearer token as the UI's own token field would keep it.
//
// URL is the agent's page with a share-link hash (web/viewstate.js: metric,
// decomp, id, sel, nb, scale, lines; nothing newer), so the view opens on
// an instrumentation that already exists.  For each, once the heatmap has
// been drawn with data (at most 2 minutes), it saves OUTDIR/NAME.png (the
// view section) and checks what a person would see: the heatmap's canvas
// has enough coloured pixels, the screenshot decoded again has them too,
// the title is set, and the legend names every KEY.  Exits 0 when all
// pass, 1 on a failed check, 3 when a page could not be loaded or shot
// in time (twice; nothing was checked), 77 when the browser cannot be
// started.
import { mkdirSync } from 'node:fs';
import process from 'node:process';
import { launch, log } from '../web/lib.mjs';

let bad = 0, untaken = 0;
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
	await page.goto(url, { timeout: 60000, waitUntil: 'domcontentloaded' });
	// Until the heatmap is drawn with data and the legend names the keys:
	// through the demo's proxy, a loaded L1 answers slowly.
	let canvas = -1;
	const end = Date.now() + 120000;
	for (;;) {
		canvas = await page.evaluate(fn => {
			const c = document.querySelector('#heatmap canvas.hm-image');
			if (!c || !c.width)
				return -1;
			const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
			return eval(fn)(d.data);
		}, COLORED);
		const legend = await page.textContent('#legend');
		if (canvas >= 200 && keys.every(k => legend.includes(k)))
			break;
		if (Date.now() > end)
			break;
		await page.waitForTimeout(500);
	}
	await page.waitForTimeout(500);
	const title = await page.textContent('#view-title');
	const legend = await page.textContent('#legend');
	const path = `${dir}/${name}.png`;
	// The page's own clip of the view, not the locator's screenshot,
	// which waits for the element to hold still (a view kept up to date
	// each second through a slow L1 could keep it waiting past a minute).
	const box = await page.locator('#view').boundingBox();
	const png = await page.screenshot({ path, clip: box, timeout: 60000,
		animations: 'disabled' });
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
const browser = await launch();
try {
	for (const j of jobs) {
		// A page each: a new hash on the same page is not a new load, and
		// the last view's canvas would still be there to count.
		// A page load or screenshot that times out or whose connection
		// is reset (an agent in L1 under TCG on a busy host answers
		// slowly) is tried once more; failed checks are not.
		for (let attempt = 1; ; attempt++) {
			const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
			if (process.env.SHOOT_TOKEN)
				await page.addInitScript(t => localStorage.setItem(
					'kvmscope.token', t), process.env.SHOOT_TOKEN);
			try {
				await shoot(page, dir, j.name, j.url, j.keys);
				await page.close();
				break;
			} catch (e) {
				await page.close();
				const msg = `${j.name}: ${e.message.split('\n')[0]}`;
				if (attempt < 2) {
					log(`${msg} (try ${attempt}; again)`);
					continue;
				}
				console.log(`NOT TAKEN ${msg}`);
				untaken++;
				break;
			}
		}
	}
} finally {
	await browser.close();
}
process.exit(bad ? 1 : untaken ? 3 : 0);
