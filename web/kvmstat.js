// kvmstat.js - every VM, vCPU and exit reason at a glance, per second.
//
// illumos' kvmstat printed one line per vCPU with exits by reason.  CA's
// model allows one discrete decomposition per instrumentation, so the
// table is built from a small tree of vm.exits instrumentations:
//   by pid                       -> the VMs (VMM processes)
//   by vcpu, where pid = P       -> each VM's vCPUs   (and by vm: its name)
//   by vleavereason, where pid = P and vcpu = V -> one row's reasons
// Each level is created when the level above first shows a new key, and
// all of them have a short idle-max so the agent reaps them if this page
// goes away without deleting them (it tries to, on leaving).
//
// Tenants do not get the pid field (GET /ca/customers/NAME leaves out
// host-side fields), so for them the top level is by vm (their VMs' names)
// and the others are filtered by vm = NAME; the engine already restricts
// a tenant's instrumentations to its own VMs.  A tenant may hold only a
// few instrumentations (tenant-instrumentations, CA's 10): past the cap,
// vCPUs are shown without their reasons, and the page says so.

import { ca, ApiError, Unreachable, installBanner, poll, sameSpec,
	installAccessBar, removeOnLeave,
	watchReachability } from './ca.js';
import { fmtCount } from './units.js';

const $ = sel => document.querySelector(sel);
const IDLE_MAX = 120;		// seconds the agent keeps an unread one
const FORGET_AFTER = 60;	// seconds without exits before a VM goes
const MAX_VCPUS = 256;		// instrumentations this page may create
const MAX_COLS = 8;		// exit reason columns before "other"
const COLOR = [224, 86, 26];	// CA's hue 21, for cell shading

let list = null;		// the agent's instrumentations, per tick
const created = new Set();	// uris this page created
const vms = new Map();		// pid (or vm name) -> vm
let KEY = 'pid';		// 'vm' for tenants
let capped = '';		// why some rows have no reasons
let top = null;
const weight = new Map();	// reason -> decayed rate, orders columns

function spec(decomp, pred) {
	return { module: 'vm', stat: 'exits', decomposition: [decomp],
		predicate: pred, 'idle-max': IDLE_MAX };
}

// An instrumentation for s: an existing one measuring the same, or new.
async function ensure(s) {
	if (!list)
		list = await ca.list();
	const found = list.find(i => sameSpec(i, s));
	if (found)
		return found;
	const inst = await ca.create(s);
	created.add(inst.uri);
	list.push(inst);
	return inst;
}

// The latest complete second of an instrumentation: {key: count}.
async function latest(inst) {
	try {
		const r = await ca.raw(inst, {});
		return r.value || {};
	} catch (e) {
		// Reaped or deleted elsewhere: forget it, recreate next time.
		if (e instanceof ApiError && e.status === 404)
			return null;
		throw e;
	}
}

const eq = (f, v) => ({ eq: [f, v] });

async function refreshVm(vm) {
	if (!vm.byVcpu)
		vm.byVcpu = await ensure(spec('vcpu', eq(KEY, vm.pid)));
	if (!vm.byName && KEY === 'pid')
		vm.byName = await ensure(spec('vm', eq('pid', vm.pid)));
	if (KEY === 'vm')
		vm.name = vm.pid;
	const [vcpus, names] = await Promise.all([latest(vm.byVcpu),
		vm.byName ? latest(vm.byName) : null]);
	if (!vcpus)
		vm.byVcpu = null;
	if (!names)
		vm.byName = null;
	const name = Object.keys(names || {})[0];
	if (name)
		vm.name = name;
	for (const [v, n] of Object.entries(vcpus || {})) {
		if (!vm.vcpus.has(v))
			vm.vcpus.set(v, { id: v, exits: 0, reasons: {} });
		vm.vcpus.get(v).exits = n;
	}
	for (const [v, c] of vm.vcpus)
		if (!(vcpus && v in vcpus))
			c.exits = 0;
	let budget = MAX_VCPUS - [...vms.values()].reduce((a, x) => a +
		[...x.vcpus.values()].filter(c => c.inst).length, 0);
	await Promise.all([...vm.vcpus.values()].map(async c => {
		if (!c.inst && budget > 0 && c.exits > 0 && !capped) {
			budget--;
			try {
				c.inst = await ensure(spec('vleavereason', { and: [
					eq(KEY, vm.pid), eq('vcpu', c.id)] }));
			} catch (e) {
				if (!(e instanceof ApiError) || e.status === 404)
					throw e;
				capped = `Some vCPUs are shown without their exit ` +
					`reasons: the agent refused another instrumentation ` +
					`(${e.message}).`;
			}
		}
		if (c.inst) {
			const r = await latest(c.inst);
			if (!r)
				c.inst = null;
			c.reasons = r || {};
		}
	}));
}

async function tick() {
	list = null;
	if (!top)
		top = await ensure({ module: 'vm', stat: 'exits',
			decomposition: [KEY], predicate: {}, 'idle-max': IDLE_MAX });
	const pids = await latest(top);
	if (!pids) {
		top = null;
		return;
	}
	const now = Date.now() / 1000;
	for (const [pid, n] of Object.entries(pids)) {
		if (!vms.has(pid))
			vms.set(pid, { pid, name: '', vcpus: new Map(), seen: now });
		if (n > 0)
			vms.get(pid).seen = now;
	}
	for (const [pid, vm] of vms)
		if (now - vm.seen > FORGET_AFTER) {
			forget(vm);
			vms.delete(pid);
		}
	await Promise.all([...vms.values()].map(refreshVm));
	$('#error').hidden = true;
	render();
}

function forget(vm) {
	const insts = [vm.byVcpu, vm.byName,
		...[...vm.vcpus.values()].map(c => c.inst)];
	for (const i of insts)
		if (i && created.has(i.uri)) {
			created.delete(i.uri);
			ca.remove(i).catch(() => {});
		}
}

// Reason columns: the heaviest recent reasons, in a stable order.
function columns() {
	const now = new Map();
	for (const vm of vms.values())
		for (const c of vm.vcpus.values())
			for (const [r, n] of Object.entries(c.reasons))
				now.set(r, (now.get(r) || 0) + n);
	for (const r of new Set([...weight.keys(), ...now.keys()]))
		weight.set(r, 0.8 * (weight.get(r) || 0) + 0.2 * (now.get(r) || 0));
	const ranked = [...weight.entries()].filter(e => e[1] > 0.01)
		.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
		.map(e => e[0]);
	return { shown: ranked.slice(0, MAX_COLS), rest: ranked.slice(MAX_COLS) };
}

function cell(n, max, cls = '') {
	const td = document.createElement('td');
	td.className = cls + (n ? '' : ' zero');
	td.textContent = n ? fmtCount(n) : '0';
	td.dataset.value = String(n);
	if (n && max > 1) {
		const a = 0.06 + 0.45 * Math.log(n + 1) / Math.log(max + 1);
		td.style.background = `rgba(${COLOR.join(',')},${a.toFixed(3)})`;
	}
	return td;
}

function textCell(text, cls) {
	const td = document.createElement('td');
	td.className = cls;
	td.textContent = text;
	return td;
}

// A cell linking to the analytics page: a heatmap of these exits by
// reason and latency (the drill-down kvmstat never had).
function drillCell(text, cls, pred, title) {
	const td = textCell('', cls);
	const a = document.createElement('a');
	const q = new URLSearchParams({ metric: 'vm.exits',
		decomp: 'vleavereason,latency', pred: JSON.stringify(pred) });
	a.href = '/#' + q.toString();
	a.textContent = text;
	a.title = title;
	td.append(a);
	return td;
}

function render() {
	const { shown, rest } = columns();
	const th = (t, cls, title) => {
		const e = document.createElement('th');
		e.className = cls || '';
		e.textContent = t;
		if (title)
			e.title = title;
		return e;
	};
	$('#head').replaceChildren(th('VM / vCPU', 'l'), th(KEY === 'pid' ?
		'pid' : ''),
		th('exits', '', 'all exits per second'),
		...shown.map(r => th(r, '', `${r} exits per second`)),
		...(rest.length ? [th('other', '', rest.join(', '))] : []));
	let max = 1, nvcpu = 0, total = 0;
	for (const vm of vms.values())
		for (const c of vm.vcpus.values())
			for (const n of Object.values(c.reasons))
				max = Math.max(max, n);
	const rows = [];
	const sorted = [...vms.values()].sort((a, b) => KEY === 'pid' ?
		Number(a.pid) - Number(b.pid) : a.pid.localeCompare(b.pid));
	for (const vm of sorted) {
		const vcpus = [...vm.vcpus.values()].sort((a, b) =>
			Number(a.id) - Number(b.id));
		const sum = r => vcpus.reduce((a, c) => a + (c.reasons[r] || 0), 0);
		const exits = vcpus.reduce((a, c) => a + c.exits, 0);
		const restOf = c => rest.reduce((a, r) => a + (c.reasons[r] || 0),
			0);
		total += exits;
		nvcpu += vcpus.length;
		const tr = document.createElement('tr');
		tr.className = 'vm';
		tr.dataset.pid = vm.pid;
		tr.append(drillCell(vm.name || `pid ${vm.pid}`, 'l',
			eq(KEY, vm.pid), 'heatmap of this VM\'s exits'),
			textCell(KEY === 'pid' ? vm.pid : '', ''),
			cell(exits, 0, 'total'),
			...shown.map(r => cell(sum(r), 0)),
			...(rest.length ? [cell(vcpus.reduce((a, c) => a + restOf(c),
				0), 0)] : []));
		rows.push(tr);
		for (const c of vcpus) {
			const r = document.createElement('tr');
			r.dataset.pid = vm.pid;
			r.dataset.vcpu = c.id;
			r.append(drillCell(`vCPU ${c.id}`, 'l vcpu', { and: [
				eq(KEY, vm.pid), eq('vcpu', c.id)] },
			'heatmap of this vCPU\'s exits'), textCell('', ''),
				cell(c.exits, 0, 'total'),
				...shown.map(x => cell(c.reasons[x] || 0, max)),
				...(rest.length ? [cell(restOf(c), max)] : []));
			rows.push(r);
		}
	}
	if (!rows.length) {
		const tr = document.createElement('tr');
		const td = textCell('No VM has exited in the last second.', 'l muted');
		td.colSpan = 3 + shown.length;
		tr.append(td);
		rows.push(tr);
	}
	$('#rows').replaceChildren(...rows);
	$('#summary').textContent = `${vms.size} VM${vms.size === 1 ? '' : 's'}` +
		` · ${nvcpu} vCPU${nvcpu === 1 ? '' : 's'} · ${fmtCount(total)} ` +
		`exits/s`;
	$('#legend').textContent = [rest.length ? `other: ${rest.join(', ')}` :
		'', capped].filter(Boolean).join(' · ');
	document.body.dataset.drawn = String(Date.now());
}

async function main() {
	installAccessBar($('#access'));
	installBanner($('#banner'));
	watchReachability(ok => {
		$('#agent').classList.toggle('down', !ok);
		$('#agent-text').textContent = ok ? `agent ${location.host}` :
			'agent unreachable';
	});
	$('#agent-text').textContent = `agent ${location.host}`;
	// A tenant's description has no pid field: key VMs by name.
	for (;;) {
		try {
			const d = await ca.describe();
			const exits = d.metrics.find(m => m.module === 'vm' &&
				m.stat === 'exits');
			KEY = exits && exits.fields.includes('pid') ? 'pid' : 'vm';
			break;
		} catch (e) {
			if (!(e instanceof Unreachable)) {
				$('#error').textContent = `The agent refused: ${e.message}`;
				$('#error').hidden = false;
				return;
			}
			await new Promise(r => setTimeout(r, 1000));
		}
	}
	document.body.dataset.key = KEY;
	window.addEventListener('pagehide', () => {
		for (const uri of created)
			removeOnLeave(uri)
				.catch(() => {});
	});
	poll(async () => {
		try {
			await tick();
		} catch (e) {
			if (!(e instanceof Unreachable)) {
				$('#error').textContent = `The agent refused: ${e.message}`;
				$('#error').hidden = false;
			}
			throw e;
		}
	}, 1000);
}

main();
