#!/bin/bash
# t_grafana.sh - the fleet dashboard (contrib/grafana/kvmscope-fleet.json)
# against a real Prometheus scraping a real agent.
#
# Grafana itself is not in Debian, so the dashboard is not loaded into a
# Grafana here; its JSON is checked for what Grafana's dashboard schema
# (v38) requires and what this dashboard relies on: unique panel ids and
# refIds, panels on the 24-column grid without overlaps, known panel
# types, every target on the ${datasource} variable, heatmap targets in
# heatmap format by le, every $variable defined, variables chained
# hostname -> vm.
#
# Then Prometheus (Debian's) scrapes two agents, one replaying
# tests/data/kvm-trace-all-events.txt (exits, interrupts) as host
# exits-host, one tests/data/disk-qmp.ksr (a real guest's disk I/O) as
# disk-host, both in a loop, and every target of every panel runs as
# Grafana would run it (a range query, $__rate_interval = 5s for a 1 s
# scrape): with the variables at All (.*), and drilled down to each host
# and its VM (the hostname values from the variable's own label_values
# query must be exactly the two hosts; the vm query is run with the host
# substituted).  Each must succeed; each whose families the agents (or,
# drilled down, that host's agent) export must return data; the others'
# families must be declared by the agents with no series (no recording
# here has NIC records or per-operation disk sizes).  Heatmap targets
# return one series per le.  Every data link, filled from the series it
# sits on, must open the agent's UI (GET / answers the page) with a view
# the agent accepts: the link's metric, decomposition and predicate,
# created as an instrumentation on that agent, are answered 201, and its t
# and end are what web/viewstate.js accepts.
set -u
K=${KVMSCOPE:?}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$TOP/tests/data/kvm-trace-all-events.txt
DISK=$TOP/tests/data/disk-qmp.ksr
DASH=$TOP/contrib/grafana/kvmscope-fleet.json
. "$TOP/tests/http/promlib.sh"
. "$TOP/tests/fleet/opslib.sh"
prom_init t_grafana
[ -f "$DASH" ] || { echo "FAIL: no dashboard at $DASH"; exit 1; }

python3 - "$DASH" <<'PY' || fail "the dashboard's JSON"
import json, re, sys
d = json.load(open(sys.argv[1]))
for k in ("title", "uid", "schemaVersion", "panels", "templating", "time"):
    assert k in d, ("missing", k)
assert d["schemaVersion"] >= 36
TYPES = {"row", "timeseries", "heatmap", "table", "stat", "text", "bargauge"}
ids, cells = set(), set()
names = {v["name"] for v in d["templating"]["list"]}
BUILTIN = {"__rate_interval", "__interval", "__range", "__to", "__from", "__field"}
def refs(s):
    return {m.group(1) for m in re.finditer(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", s)}
for p in d["panels"]:
    assert p["type"] in TYPES, p["type"]
    assert isinstance(p["id"], int) and p["id"] not in ids, ("panel id", p["id"])
    ids.add(p["id"])
    g = p["gridPos"]
    assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, (p["title"], g)
    for x in range(g["x"], g["x"] + g["w"]):
        for y in range(g["y"], g["y"] + g["h"]):
            assert (x, y) not in cells, ("overlap", p["title"], x, y)
            cells.add((x, y))
    if p["type"] == "row":
        continue
    assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
    r = [t["refId"] for t in p["targets"]]
    assert r and len(set(r)) == len(r), (p["title"], r)
    for t in p["targets"]:
        assert t["datasource"] == p["datasource"] and t["expr"].strip()
        assert refs(t["expr"]) <= names | BUILTIN, (p["title"], refs(t["expr"]))
        if p["type"] == "heatmap":
            assert t["format"] == "heatmap" and t["legendFormat"] == "{{le}}", p["title"]
            assert re.match(r"sum by \(le\)", t["expr"]), p["title"]
    for l in p["fieldConfig"]["defaults"].get("links", []):
        assert l["url"].startswith("http://${__field.labels.instance}/#metric="), l
        assert refs(l["url"]) <= names | BUILTIN, l
vs = {v["name"]: v for v in d["templating"]["list"]}
assert vs["datasource"]["type"] == "datasource" and vs["datasource"]["query"] == "prometheus"
assert "$hostname" in vs["vm"]["definition"], "vm is not chained on hostname"
n = sum(1 for p in d["panels"] if p["type"] == "heatmap")
assert n >= 3, "heatmaps"
print("dashboard JSON: %d panels (%d heatmaps), variables %s" %
      (len(d["panels"]), n, ", ".join(sorted(names))))
PY

find_prometheus
two_agents
prom_start --web.enable-lifecycle
prom_scrape "127.0.0.1:$aport1" "127.0.0.1:$aport"
wait_positive 'sum(rate(kvmscope_vm_exits_total[5s]))'
wait_positive 'sum(rate(kvmscope_vm_physio_ops_total[5s]))'
sleep 3
curl -s "$A1/metrics" >"$tmp/metrics.exits-host" || fail "GET /metrics"
curl -s "$A/metrics" >"$tmp/metrics.disk-host" || fail "GET /metrics"

python3 - "$DASH" "$P" "$tmp" "$TOP/tests/fleet" <<'PY' ||
import json, re, sys, time, urllib.parse, urllib.request
dash, base, tmp, lib = sys.argv[1:]
def get(url, data=None):
    try:
        with urllib.request.urlopen(url, data=data) as f:
            return f.status, f.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def api(path, **params):
    st, body = get(base + path + "?" + urllib.parse.urlencode(params, doseq=True))
    r = json.loads(body)
    assert r.get("status") == "success", (path, params, r)
    return r["data"]

sys.path.insert(0, lib)
from opslib import families, family
fams = {h: families("%s/metrics.%s" % (tmp, h)) for h in ("exits-host", "disk-host")}
declared = set.union(*(d for d, _ in fams.values()))

d = json.load(open(dash))
now = int(time.time())
def subst(expr, vals):
    expr = expr.replace("$__rate_interval", "5s").replace("${__rate_interval}", "5s")
    for k, v in vals.items():
        expr = expr.replace("${%s}" % k, v).replace("$" + k, v)
    assert "$" not in expr, expr
    return expr

# The variables: hostname, then vm with the host substituted (chained).
vs = {v["name"]: v for v in d["templating"]["list"]}
def label_values(q, vals):
    m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", q)
    sel, label = subst(m.group(1), vals), m.group(2)
    return sorted({s[label] for s in api("/api/v1/series", **{"match[]": sel}) if label in s})
def esc(v):	# as Grafana escapes a value for =~ in PromQL
    for c in "\\.+*?()|[]{}^$":
        v = v.replace(c, "\\\\" + c)
    return v
hosts = label_values(vs["hostname"]["definition"], {})
assert hosts == ["disk-host", "exits-host"], ("hostname values", hosts)
drill = []
for host in hosts:
    vms = label_values(vs["vm"]["definition"], {"hostname": esc(host)})
    assert vms, ("no vm values on", host)
    drill.append(({"hostname": esc(host), "vm": esc(vms[0])},
                  "%s/%s" % (host, vms[0]), fams[host][1]))
    print("variables: vm on %s: %s" % (host, vms))
assert label_values(vs["vm"]["definition"], {"hostname": "no-such-host"}) == [], "vm not chained"

links = 0
allp = set.union(*(p for _, p in fams.values()))
for vals, what, present in [({"hostname": ".*", "vm": ".*"}, "All", allp)] + drill:
    for p in d["panels"]:
        if p["type"] == "row":
            continue
        for t in p["targets"]:
            expr = subst(t["expr"], vals)
            if t.get("instant"):
                res = api("/api/v1/query", query=expr)["result"]
            else:
                res = api("/api/v1/query_range", query=expr, start=now - 30,
                          end=now, step=1)["result"]
            used = {n for n in re.findall(r"\b(kvmscope_[a-z0-9_]+|up)\b", expr)}
            fed = all(f in present or f == "up" for f in used)
            if fed:
                assert res, ("no data", what, p["title"], expr)
            else:
                missing = sorted(f for f in used if f not in present)
                assert all(family(f) in declared for f in missing), \
                    ("the agent does not declare", missing, p["title"])
                assert not res, (p["title"], "data without the families", missing)
            if p["type"] == "heatmap" and res:
                les = [s["metric"].get("le") for s in res]
                assert all(les) and "+Inf" in les and len(les) == len(set(les)), (p["title"], les)
            print("%s %-24s %-46s %s" % ("ok" if res else "--", what[:24], p["title"][:46],
                  "%d series" % len(res) if res else
                  "no data: no %s series here" % ", ".join(missing)))
            # Data links, filled from the first series.
            for l in p["fieldConfig"]["defaults"].get("links", []):
                if not res:
                    continue
                labels = res[0]["metric"]
                def field(m):
                    v = labels[m.group(1)]
                    return urllib.parse.quote(v, safe="") if m.group(2) else v
                url = re.sub(r"\$\{__field\.labels\.(\w+)(:percentencode)?\}", field, l["url"])
                url = url.replace("${__to:date:seconds}", str(now))
                assert "$" not in url, url
                u = urllib.parse.urlsplit(url)
                st, body = get(u.scheme + "://" + u.netloc + "/")
                assert st == 200 and b"<html" in body.lower(), (url, st)
                q = urllib.parse.parse_qs(u.fragment, keep_blank_values=True)
                mod, stat = q["metric"][0].split(".")
                spec = {"module": mod, "stat": stat,
                        "decomposition": q["decomp"][0].split(",") if "decomp" in q else []}
                if "pred" in q:
                    spec["predicate"] = json.loads(q["pred"][0])
                    assert spec["predicate"]["eq"][1] == labels["vm"], (url, labels)
                assert 10 <= int(q["t"][0]) <= 3600 and int(q["end"][0]) > 0, url
                req = urllib.request.Request(u.scheme + "://" + u.netloc + "/ca/instrumentations",
                                             data=json.dumps(spec).encode(),
                                             headers={"Content-Type": "application/json"})
                st, body = get(req)
                assert st == 201, ("the agent refuses the link's view", url, st, body[:300])
                links += 1
assert links >= 8, ("too few links checked", links)
print("links: %d data links open a view their agent accepts" % links)
PY
	fail "the dashboard's queries and links"

stop_agent1
prom_stop
echo "grafana dashboard ok"
