#!/usr/bin/env python3
"""soak.py - the agent under guest churn, client churn and state faults.

Driven by scripts/soak.sh (which makes the trace and the files).  Runs
`kvmscope serve --replay TRACE --replay-loop --state DB` and, for SECONDS:

  guests   the trace's VMs come and go (new names, pids and addresses every
           few seconds), every exit at a new RIP, every MMIO access at a
           new address (scripts/guestflood.py);
  clients  the operator creates instrumentations with 200 never-seen
           predicate constants each and deletes them, up to the
           instrumentation cap (409 past it); a tenant at its cap keeps
           trying (409); heatmap images at the column limit (3600) and raw
           values at and past the raw-values limit;
  state    kill -9 and restart, a clean restart, and another process
           holding the state database's lock: briefly at a start, and
           longer than the busy timeout while clients create and delete.

Every change the agent acknowledged (201 create, 204 delete) is written in
a ledger and looked for after every restart and at the end: a created one
must be there, a deleted one must not.  Prints the agent's RSS at the start
and end of its last, uninterrupted run (and of its first), the drop and
refusal counters of /metrics, and the ledger's result; exits 1 if an
acknowledged change was lost.
"""
import http.client
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time


class Agent:
    def __init__(self, binary, conf, trace, db, errdir):
        self.args = [binary, "serve", "--config", conf, "--replay", trace,
                     "--replay-loop", "--state", db]
        self.errdir = errdir
        self.n = 0
        self.proc = None
        self.port = None

    def start(self):
        self.n += 1
        path = os.path.join(self.errdir, "agent.%d.err" % self.n)
        err = open(path, "w")
        self.proc = subprocess.Popen(self.args, stderr=err)
        for _ in range(600):
            with open(path) as f:
                for line in f:
                    if line.startswith("kvmscope: listening on http://"):
                        self.port = int(line.rsplit(":", 1)[1].strip("/\n"))
                        return
            if self.proc.poll() is not None:
                sys.exit("soak: the agent exited at start (%s):\n%s"
                         % (self.proc.returncode, open(path).read()))
            time.sleep(0.1)
        sys.exit("soak: the agent did not start listening")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        if rc != 0:
            sys.exit("soak: the agent exited %d after SIGTERM" % rc)

    def rss_kb(self):
        try:
            for line in open("/proc/%d/status" % self.proc.pid):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return 0
        return 0


class Client:
    def __init__(self, agent, token):
        self.agent, self.token, self.c, self.port = agent, token, None, None

    def call(self, method, path, body=None):
        if self.port != self.agent.port:
            self.c = http.client.HTTPConnection("127.0.0.1", self.agent.port,
                                                timeout=60)
            self.port = self.agent.port
        h = {"Authorization": "Bearer " + self.token}
        if body is not None:
            h["Content-Type"] = "application/json"
        try:
            self.c.request(method, path, body, h)
            r = self.c.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException):
            self.port = None
            return 0, b""


def hold_lock(db, seconds):
    """Another process's write lock on the state database."""
    try:
        con = sqlite3.connect(db, timeout=10, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        con.execute("COMMIT")
        con.close()
    except sqlite3.Error as e:
        print("soak: could not hold the lock: %s" % e)


def main():
    binary, conf, trace, db, tmp, op, ta, seconds = sys.argv[1:9]
    seconds = int(seconds)
    agent = Agent(binary, conf, trace, db, tmp)
    opc, tac = Client(agent, op), Client(agent, ta)
    live, deleted = set(), set()
    stats = {"created": 0, "deleted": 0, "refused_cap": 0, "tenant_409": 0,
             "raw_200": 0, "raw_409": 0, "heatmap_200": 0, "heatmap_other": 0,
             "kills": 0, "restarts": 0, "lock_holds": 0, "errors": 0}
    checks = []
    lost = set()
    n = [0]

    def constants_body(persist, idle_max=True):
        n[0] += 1
        pred = {"or": [{"eq": ["vleavereason", "%d-%d-%s" % (n[0], i, "c" * 140)]}
                       for i in range(200)]}
        body = {"module": "vm", "stat": "exits", "predicate": pred,
                "persist-data": persist}
        if idle_max:
            body["idle-max"] = 0
        return json.dumps(body)

    def verify(when):
        s, b = opc.call("GET", "/ca/instrumentations")
        if s != 200:
            sys.exit("soak: GET /ca/instrumentations: %d" % s)
        have = {i["id"] for i in json.loads(b)}
        missing = sorted(live - have, key=int)
        back = sorted(deleted & have, key=int)
        lost.update(missing)
        lost.update(back)
        checks.append((when, len(live), len(missing), len(back)))
        print("soak: %s: %d acknowledged instrumentations, %d missing, "
              "%d deleted ones back%s" % (when, len(live), len(missing),
              len(back), (" (missing %s)" % missing[:10]) if missing else ""),
              flush=True)

    agent.start()
    fixed = []
    for d in ({"module": "vm", "stat": "exits", "decomposition": "guestrip"},
              {"module": "vm", "stat": "mmio_ops", "decomposition": "gpa"},
              {"module": "vm", "stat": "exits", "decomposition": "latency"}):
        d["idle-max"] = 0
        # Full by the second half, so that its RSS can be flat.
        d["retention-time"] = 120
        s, b = opc.call("POST", "/ca/instrumentations", json.dumps(d))
        if s != 201:
            sys.exit("soak: create %s: %d %s" % (d, s, b[:300]))
        fixed.append(json.loads(b)["id"])
        live.add(fixed[-1])
        stats["created"] += 1
    tac.call("POST", "/ca/customers/acme/instrumentations",
             json.dumps({"module": "vm", "stat": "exits"}))

    t0 = time.time()
    # Faults in the first half; the second half runs uninterrupted, so its
    # RSS at start and end says whether memory stays flat.
    faults = sorted([(seconds * f, "kill") for f in (0.1, 0.2, 0.3, 0.4)] +
                    [(seconds * 0.25, "restart"),
                     (seconds * 0.15, "lock"), (seconds * 0.35, "lock"),
                     (seconds * 0.45, "lockstart")])
    rss = {}
    last_start = time.time()
    rnd = random.Random(42)
    while time.time() - t0 < seconds:
        now = time.time() - t0
        if faults and now >= faults[0][0]:
            kind = faults.pop(0)[1]
            if kind == "kill":
                agent.kill9()
                stats["kills"] += 1
                agent.start()
                verify("after kill -9 #%d" % stats["kills"])
            elif kind == "restart":
                agent.stop()
                agent.start()
                stats["restarts"] += 1
                verify("after a clean restart")
            elif kind == "lock":
                stats["lock_holds"] += 1
                threading.Thread(target=hold_lock, args=(db, 3.0)).start()
            else:
                agent.stop()
                stats["lock_holds"] += 1
                th = threading.Thread(target=hold_lock, args=(db, 1.0))
                th.start()
                time.sleep(0.2)
                agent.start()
                th.join()
                stats["restarts"] += 1
                verify("after a restart with the database locked 1 s")
            last_start = time.time()
            rss.pop("start", None)
        # Once the guests' instrumentations are full (their retention
        # after a start): what grows after that is what must not.
        if "start" not in rss and time.time() - last_start > 135:
            rss["start"] = agent.rss_kb()
            rss["start_at"] = int(now)
        # Clients: churn at the instrumentation cap.
        s, b = opc.call("POST", "/ca/instrumentations",
                        constants_body(rnd.random() < 0.3))
        if s == 201:
            live.add(json.loads(b)["id"])
            stats["created"] += 1
        elif s == 409:
            stats["refused_cap"] += 1
        else:
            stats["errors"] += 1
        victims = sorted(live - set(fixed), key=int)
        if victims and (s != 201 or rnd.random() < 0.45):
            v = rnd.choice(victims)
            s, _ = opc.call("DELETE", "/ca/instrumentations/" + v)
            if s == 204:
                live.discard(v)
                deleted.add(v)
                stats["deleted"] += 1
            else:
                stats["errors"] += 1
        s, _ = tac.call("POST", "/ca/customers/acme/instrumentations",
                        constants_body(False, idle_max=False))
        stats["tenant_409" if s == 409 else "errors"] += 1
        if n[0] % 5 == 0:
            # The retention's every second (past raw-values once the
            # guests' keys fill them), and a few; a heatmap of 3,600
            # columns, the most there may be.
            t = int(time.time())
            for q in ("start_time=%d&duration=1&ndatapoints=120" % (t - 120),
                      "start_time=%d&duration=1&ndatapoints=20" % (t - 30)):
                s, _ = opc.call("GET", "/ca/instrumentations/%s/value/raw?%s"
                                % (fixed[n[0] % 2], q))
                stats["raw_%d" % s if s in (200, 409) else "errors"] += 1
            s, _ = opc.call("GET", "/ca/instrumentations/%s/value/heatmap/"
                            "image?start_time=%d&duration=60&ndatapoints=60&"
                            "width=1000&height=1000&nbuckets=100"
                            % (fixed[2], t - 3600))
            stats["heatmap_200" if s == 200 else "heatmap_other"] += 1
    rss["end"] = agent.rss_kb()
    s, m = opc.call("GET", "/metrics")
    metrics = dict(l.rsplit(" ", 1) for l in m.decode().splitlines()
                   if l and not l.startswith("#") and " " in l)
    verify("at the end, before the last restart")
    agent.stop()
    agent.start()
    verify("after the last restart")
    agent.stop()

    print("soak_seconds %d" % seconds)
    for k, v in stats.items():
        print("soak_%s %d" % (k, v))
    print("soak_rss_last_run_start_kb %s (%d s in, 135 s after its start)"
          % (rss.get("start"), rss.get("start_at", -1)))
    print("soak_rss_end_kb %d" % rss["end"])
    if rss.get("start"):
        print("soak_rss_last_run_end_over_start %.3f (target 1.0: flat)"
              % (rss["end"] / rss["start"]))
    for k in sorted(metrics):
        if ("dropped" in k or "refused" in k or k.startswith("kvmscope_symbols")
                or "memory" in k):
            print("soak_metric %s %s" % (k, metrics[k]))
    print("soak_ledger_checks %d" % len(checks))
    print("soak_acknowledged_creates_and_deletes %d"
          % (stats["created"] + stats["deleted"]))
    print("soak_acknowledged_lost %d%s" % (len(lost), (" (ids %s)" % sorted(
        lost, key=int)) if lost else ""))
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
