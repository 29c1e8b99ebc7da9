#!/usr/bin/env python3
"""demo-refresh.py - one refresh of `make demo`'s pictures and status.

Usage: demo-refresh.py OUT QUICK L1DIR [HOSTURL DISKID]

scripts/demo.sh runs this every few seconds while the demo runs.  It asks
the lab's L1 agent (its address, token and instrumentation ids are in
L1DIR, lab-out/pictures-l1/) and, with HOSTURL, this host's agent for the
heatmap of each picture over the last seconds of its workload, and writes
the PNG to OUT only when the picture holds what it shows: both vectors of
the tick and the stair, both address spaces, some exits, both reads and
writes.  It prints one status line per picture and per workload
("picture NAME: ready FILE (...)", "picture NAME: waiting (why)"), which
demo.sh puts in demo-out/STATUS.  A picture already in OUT was written by
this run (demo.sh empties OUT's pictures when it starts), so it stays
"ready" with the time it was written when a refresh cannot redraw it.
"""
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request

OUT, QUICK, L1DIR = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
HOSTURL = sys.argv[4] if len(sys.argv) > 5 else ""
DISKID = sys.argv[5] if len(sys.argv) > 5 else ""

# name: (agent, instrumentation, seconds shown (quick, normal), heatmap
# parameters, keys the picture needs, what they are)
PICTURES = [
    ("irqs-subsecond", "l1", "irqs", (12, 30),
     "ymin=0&ymax=1000&nbuckets=100", {"20", "21"},
     "vectors 20 (tick) and 21 (stair)"),
    ("samples-cr3", "l1", "samples", (20, 60),
     "ymin=0&ymax=1000&nbuckets=50", {"4000", "5000"},
     "samples under cr3 4000 and 5000"),
    ("exits-latency", "l1", "exits", (12, 60),
     "ymin=0&ymax=200000&nbuckets=50", set(), "exits"),
    ("disk-offsets", "host", None, (30, 48),
     "ymin=0&ymax=268435456&nbuckets=64", {"read", "write"},
     "disk reads and writes"),
]
NOPROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


DOWN = {}    # agent: why it did not answer (asked once per refresh)


def get(base, path, token):
    if base in DOWN:
        raise OSError(DOWN[base])
    req = urllib.request.Request(base + path)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with NOPROXY.open(req, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError:
        raise
    except OSError as e:
        # A stuck L1 must not hold the demo's loop for every request.
        DOWN[base] = str(e)
        raise


def hhmmss(t):
    return time.strftime("%H:%M:%S", time.gmtime(t))


def written(name, ext):
    path = os.path.join(OUT, name + ext)
    try:
        return path, os.stat(path).st_mtime
    except OSError:
        return path, None


def picture(name, base, token, iid, secs, params, need, what):
    """Writes OUT/NAME.png; returns None, else why not."""
    if not iid:
        return "no instrumentation yet"
    now = get(base, "/ca/admin/status", token)["now"]
    start = now - 2 - secs
    hm = get(base, "/ca/instrumentations/%s/value/heatmap/image?start_time=%d"
             "&duration=%d&width=600&height=300&decompose_all=true&%s"
             % (iid, start, secs, params), token)
    present = set(hm.get("present", []))
    missing = need - present
    if not present or missing:
        return "no %s yet in the last %d s" % (
            " or ".join(sorted(missing)) or "data", secs)
    img = base64.b64decode(hm["image"])
    if img[:8] != b"\x89PNG\r\n\x1a\n":
        return "the agent's answer held no PNG"
    path = os.path.join(OUT, name + ".png")
    with open(path + ".tmp", "wb") as f:
        f.write(img)
    os.replace(path + ".tmp", path)
    picture.shown[name] = "%s over %s-%s" % (what, hhmmss(start),
                                             hhmmss(start + secs))
    return None


picture.shown = {}


def lines():
    fwd = read(os.path.join(L1DIR, "hostfwd"))
    l1 = "http://" + fwd if fwd and os.path.exists(
        os.path.join(L1DIR, "ready")) else ""
    token = read(os.path.join(L1DIR, "token"))
    instn = dict(l.split()[:2] for l in read(os.path.join(L1DIR, "instn"))
                 .splitlines() if len(l.split()) >= 2)
    for name, agent, iid, secs, params, need, what in PICTURES:
        base, tok = (l1, token) if agent == "l1" else (HOSTURL, "")
        iid = instn.get(iid) if agent == "l1" else DISKID
        if not base:
            why = "no agent" if agent == "host" else "L1's agent is not up"
        else:
            try:
                why = picture(name, base, tok, iid, secs[0 if QUICK else 1],
                              params, need, what)
            except (OSError, ValueError, KeyError) as e:
                why = "the agent did not answer (%s)" % e
        path, mtime = written(name, ".png")
        if mtime is None:
            yield "picture %s: waiting (%s)" % (name, why)
        elif why is None:
            yield "picture %s: ready %s (live, written %s UTC: %s)" % (
                name, path, hhmmss(mtime), picture.shown[name])
        else:
            yield "picture %s: ready %s (written %s UTC; not redrawn now: %s)" \
                % (name, path, hhmmss(mtime), why)
    # kvmscope stat in L1, both VMs side by side (the kvmtest VMs alone
    # when the demo runs no L2 guest).
    stat = read(os.path.join(L1DIR, "stat-demo.txt"))
    path, mtime = written("exits-stat", ".txt")
    nol2 = "state=absent" in read(os.path.join(L1DIR, "demo", "l2"))
    want = "kvmtest" if nol2 else "l2-linux"
    if stat and want in stat:
        with open(path + ".tmp", "w") as f:
            f.write(stat + "\n")
        os.replace(path + ".tmp", path)
        path, mtime = written("exits-stat", ".txt")
    if mtime is None:
        yield ("picture exits-stat: waiting (kvmscope stat in L1 has not "
               "shown %s yet)" % ("a kvmtest VM" if nol2 else "the L2 Linux guest"))
    else:
        yield "picture exits-stat: ready %s (kvmscope stat in L1, written " \
              "%s UTC%s)" % (path, hhmmss(mtime), "; no L2 guest" if nol2 else "")
    # VMs the L1 agent saw exit in the last 10 s.
    if l1 and instn.get("vms"):
        try:
            now = get(l1, "/ca/admin/status", token)["now"]
            v = get(l1, "/ca/instrumentations/%s/value/raw?start_time=%d"
                    "&duration=10" % (instn["vms"], now - 11), token)
            vms = sorted(v.get("value") or {})
            yield "vms: %s (exits in L1 over the last 10 s)" % (
                ", ".join(vms) or "none")
        except (OSError, ValueError, KeyError) as e:
            yield "vms: unknown (%s)" % e
    # The workloads, as L1 reports them.
    d = os.path.join(L1DIR, "demo")
    for w in ("irqs", "cr3", "exits", "l2"):
        kv = dict(x.split("=", 1) for x in read(os.path.join(d, w)).split()
                  if "=" in x)
        if not kv:
            yield "workload %s: not started" % w
            continue
        age = int(time.time() - os.stat(os.path.join(d, w)).st_mtime)
        yield "workload %s: %s (run %d for %d s, %s failed)" % (
            w, kv.get("state", "?"), int(kv.get("runs", "0")) + 1, age,
            kv.get("fails", "0"))


if __name__ == "__main__":
    for line in lines():
        print(line)
