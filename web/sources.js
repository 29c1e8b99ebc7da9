// sources.js - why a map is empty: which of the agent's sources feeds the
// metric, what state it is in, and since when nothing has arrived.  From
// GET /ca/admin/status (sources, replay); a tenant's status lists no
// sources, so a tenant is told only that its VMs have produced nothing.

import { fmtClock } from './units.js';

// The sentence for an empty map of metric key ("vm.irqs"), label ("VM
// interrupts"), for the instrumentation inst (crtime in ms) shown over
// w {start, end, live}; status is the agent's /admin/status.
export function whyNoData(status, key, label, inst, w) {
	const born = Math.ceil((inst && inst.crtime || 0) / 1000);
	if (!w.live && w.end !== undefined && w.end < born - 1)
		return `Nothing kept for this range: this instrumentation ` +
			`started collecting at ${fmtClock(born)}, after it. Step ` +
			'forward or pick a later range.';
	const since = Math.max(born, w.start);
	const when = `since ${fmtClock(since)}` + (since === born ?
		' (when this instrumentation was created)' : '');
	const pred = inst && Object.keys(inst.predicate || {}).length ?
		' matching the filter' : '';
	if (status && status.replay) {
		const f = String(status.replay.file || '').split('/').pop();
		return `No ${label}${pred} ${when}: this agent replays ${f}, ` +
			`which holds no ${key} records${pred ? ' that match' : ''}.`;
	}
	const srcs = ((status && status.sources) || []).filter(s =>
		(s.metrics || []).includes(key));
	if (!srcs.length)
		return `No ${label}${pred} from your VMs ${when}.`;
	const bits = srcs.map(s => {
		if (s.status === 'running')
			return `source ${s.name} is running (${s.records || 0} ` +
				`records so far) but none was ${key}${pred}`;
		return `source ${s.name} is ${s.status}` + (s.reason ?
			`: ${s.reason}` : '');
	});
	return `No ${label}${pred} ${when}: ${bits.join('; ')}.`;
}
