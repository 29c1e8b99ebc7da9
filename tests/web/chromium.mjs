// chromium.mjs - Debian's chromium under playwright-core, headless, as the
// browser tests start it; exits 77 (skip) when either cannot be had.
// tests/lab/shoot.mjs uses it.
import process from 'node:process';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launchChromium() {
	let chromium;
	try {
		({ chromium } = await import('playwright-core'));
	} catch (e) {
		console.log(`playwright-core cannot be loaded: ${e.message}`);
		process.exit(77);
	}
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
