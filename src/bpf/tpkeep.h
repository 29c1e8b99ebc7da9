/* tpkeep.h - what the probes' tracepoint programs return.
 *
 * A BPF program attached to a tracepoint through perf (SEC("tp/...")) is
 * called for the tracepoint as a whole, before the event reaches any perf
 * event on it, and its return value filters the event for all of them
 * (perf_trace_run_bpf_submit: 0 drops it).  Returning 0 made `perf kvm
 * stat record`, run beside kvmscope, record nothing (tests/lab/
 * t_exits_perf.sh found it).  Every tracepoint program returns
 * KS_TP_KEEP, so other tracers see every event; the cost is a counter
 * bump on the probe's own perf event where it is attached.
 */
#ifndef KS_BPF_TPKEEP_H
#define KS_BPF_TPKEEP_H

#define KS_TP_KEEP 1

#endif /* KS_BPF_TPKEEP_H */
