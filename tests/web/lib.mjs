// lib.mjs - what the browser tests share: loading playwright-core, checks
// that log, waiting, pixel statistics of canvases and screenshots (decoded
// by the browser itself), and launching Debian's chromium.
import process from 'node:process';

const T0 = Date.now();
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export let chromium;
try {
	({ chromium } = await import('playwright-core'));
} catch (e) {
	console.log(`playwright-core cannot be loaded: ${e.message}`);
	process.exit(77);
}

export function log(msg) {
	console.log(`[${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}`);
}

export class Failed extends Error {}
export function check(cond, msg) {
	if (!cond)
		throw new Failed(msg);
	log(`ok: ${msg}`);
}


// Waits until fn() (in node) returns a truthy value.
export async function until(what, fn, ms = 10000) {
	const end = Date.now() + ms;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last)
				return last;
		} catch (e) {
			last = e.message;
		}
		if (Date.now() > end)
			throw new Failed(`timed out (${ms} ms) waiting for ${what}` +
				(last ? ` (last: ${JSON.stringify(last)})` : ''));
		await new Promise(r => setTimeout(r, 150));
	}
}

// Colour statistics of RGBA pixels, in the page: how many are not white,
// their saturation-weighted mean hue, and the most saturated pixel.
export const PIXEL_STATS = `(d, w) => {
	let n = 0, sx = 0, sy = 0, best = -1, bx = 0, by = 0, sat = 0;
	const hues = new Array(36).fill(0);
	for (let i = 0; i < d.length; i += 4) {
		const r = d[i] / 255, g = d[i + 1] / 255, b = d[i + 2] / 255;
		if (d[i + 3] < 128 || (r > 0.98 && g > 0.98 && b > 0.98))
			continue;
		const max = Math.max(r, g, b), min = Math.min(r, g, b);
		const s = max ? (max - min) / max : 0;
		if (s < 0.08)
			continue;
		let h;
		if (max === r) h = 60 * (((g - b) / (max - min)) % 6);
		else if (max === g) h = 60 * ((b - r) / (max - min) + 2);
		else h = 60 * ((r - g) / (max - min) + 4);
		if (h < 0) h += 360;
		n++;
		sat += s;
		sx += s * Math.cos(h * Math.PI / 180);
		sy += s * Math.sin(h * Math.PI / 180);
		hues[Math.floor(h / 10) % 36]++;
		if (s > best) { best = s; bx = (i / 4) % w; by = Math.floor(i / 4 / w); }
	}
	let hue = Math.atan2(sy, sx) * 180 / Math.PI;
	if (hue < 0) hue += 360;
	return { n, hue, x: bx, y: by, hues };
}`;

export async function canvasStats(page, sel) {
	return page.evaluate(([sel, fn]) => {
		const c = document.querySelector(sel);
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
		return eval(fn)(d.data, c.width);
	}, [sel, PIXEL_STATS]);
}

// Decodes a PNG screenshot with the browser's own decoder.
export async function pngStats(page, png) {
	return page.evaluate(async ([b64, fn]) => {
		const blob = await (await fetch('data:image/png;base64,' + b64))
			.blob();
		const bm = await createImageBitmap(blob);
		const c = new OffscreenCanvas(bm.width, bm.height);
		const g = c.getContext('2d');
		g.drawImage(bm, 0, 0);
		return eval(fn)(g.getImageData(0, 0, bm.width, bm.height).data,
			bm.width);
	}, [png.toString('base64'), PIXEL_STATS]);
}

export function hueDist(a, b) {
	const d = Math.abs(a - b) % 360;
	return Math.min(d, 360 - d);
}


export function watch(page, errors) {
	page.on('pageerror', e => errors.push(`${page.url()}: ${e.message}`));
}


// Launches chromium; exits 77 when it cannot be started.
export async function launch() {
	try {
		return await chromium.launch({ executablePath: CHROMIUM,
			args: ['--headless', '--no-sandbox', '--disable-gpu',
				'--disable-quic', '--no-first-run',
				'--disable-background-networking',
				'--disable-component-update', '--disable-sync'] });
	} catch (e) {
		console.log(`chromium cannot be started: ${e.message.split('\n')[0]}`);
		process.exit(77);
	}
}
