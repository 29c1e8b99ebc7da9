#!/usr/bin/env python3
"""ca_compat.py - Cloud Analytics' own HTTP tests, as our cases, over HTTP.

Driven by t_ca_compat.sh against a real agent replaying a real capture.
Every request/assertion pair of CA's tst/http/badconfig.js,
tst/http/tst.version.js, tst/caconfig/tst.basic.js (with its
?profile=none requests), tst/caconfig/tst.clone.js and
tst/caagg/http_values.js is one case here, written from what CA asserts
(CA's test metric test_module.ops1 is vm.exits, its fields hostname and
latency are ours of the same name); then every parameter rule of CA's
ca-svc-config.js, caaggsvc.js and ca-agg.js, one case each.  Where we
deliberately differ (docs/ca-compat.md), the case asserts our behaviour
and says DEVIATION.

Usage: ca_compat.py BASE_URL (an agent replaying in a loop).
Prints each failure, then "N/M CA cases pass"; exits 1 below 95% or on a
failure not listed in KNOWN_GAPS.
"""
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

B = sys.argv[1]
KNOWN_GAPS = set()	# case names that may fail (none today)
results = []		# (name, ok, detail)


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.raw = status, headers, body
        try:
            self.j = json.loads(body) if body.strip() else None
        except ValueError:
            self.j = None


def http(method, path, body=None, ctype=None, headers=None, base=None):
    h = dict(headers or {})
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else body
        if ctype:
            h["Content-Type"] = ctype
    req = urllib.request.Request((base or B) + path, data=data, method=method,
                                 headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return Resp(r.status, {k.lower(): v for k, v in r.headers.items()},
                        r.read())
    except urllib.error.HTTPError as e:
        return Resp(e.code, {k.lower(): v for k, v in e.headers.items()},
                    e.read())


def send_json(method, path, obj, **kw):
    return http(method, path, json.dumps(obj), "application/json", **kw)


def form_encode(obj):
    """What node's querystring.stringify made of CA's test inputs."""
    pairs = []
    for k, v in obj.items():
        if isinstance(v, list):
            pairs += [(k, str(x)) for x in v]
        elif isinstance(v, (dict, type(None))):
            pairs.append((k, ""))
        elif isinstance(v, bool):
            pairs.append((k, "true" if v else "false"))
        else:
            pairs.append((k, str(v)))
    return urllib.parse.urlencode(pairs)


def send_form(method, path, obj, **kw):
    return http(method, path, form_encode(obj),
                "application/x-www-form-urlencoded", **kw)


def case(name, fn):
    try:
        detail = fn()
        ok = detail is None or detail is True
    except AssertionError as e:
        ok, detail = False, str(e) or "assertion failed"
    except Exception as e:	# a crash of the case is its failure
        ok, detail = False, "%s: %s" % (type(e).__name__, e)
    results.append((name, ok, detail))


def eq(a, b, what=""):
    assert a == b, "%s: %r != %r" % (what, a, b)


def deep_eq(a, b):
    """node's assert.deepEqual of 2011: {} and [] compare equal."""
    if a in ({}, []) and b in ({}, []):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(deep_eq(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(deep_eq(x, y) for x, y in zip(a, b))
    return a == b


def is_ca_error(r, status, code="ECA_INVAL"):
    eq(r.status, status, "status")
    assert isinstance(r.j, dict) and "error" in r.j, "no error object: %r" % r.raw[:200]
    e = r.j["error"]
    assert "code" in e and "message" in e, "error lacks code/message"
    eq(e["code"], code, "error code")
    eq(r.headers.get("access-control-allow-origin"), "*", "CORS origin")


def now():
    return http("GET", "/ca/admin/status").j["now"]


# ---- tst/http/badconfig.js: paths that are not resources (nothing created
# yet, so the ids it names do not exist) --------------------------------------
def badconfig():
    paths = [("GET", "/foobar/baz/blah", 404), ("GET", "/ca", 200),
             ("GET", "/ca/", 200), ("GET", "/ca/metric", 404),
             ("GET", "/ca/customers//metrics", 404),
             ("GET", "/ca/customers//instrumentations", 404)]
    for tail in ("/value", "/value/raw", "/value/heatmap"):
        paths.append(("GET", "/ca/customers/1/instrumentation/1" + tail, 404))
    for tail in ("/value", "/value/raw", "/value/heatmap"):
        paths.append(("GET", "/ca/instrumentation/1" + tail, 404))
    ids = ["/ca/instrumentations/foobar", "/ca/instrumentations/bmc",
           "/ca/instrumentations/dap", "/ca/customers/rm/instrumentations/23",
           "/ca/customers/brendan/instrumentations/42"]
    paths += [("GET", p, 404) for p in ids] * 2
    paths += [("DELETE", p, 404) for p in ids]
    paths += [("PUT", p, 404) for p in ids]
    for m, p, want in paths:
        case("badconfig %s %s -> %d" % (m, p, want),
             lambda m=m, p=p, want=want: eq(http(m, p).status, want, p))


# ---- tst/http/tst.version.js: X-API-Version, three spellings of the name --
def version():
    cases = [("ca/a", 409), ("foo/0.1.0", 409), ("2011-04-11", 409),
             ("ca/0.1", 409), ("ca/0.1.0", 200), ("ca/3.1.5", 200),
             (None, 200)]
    for head, want in cases:
        for name in ("X-API-Version", "X-API-version", "x-api-version"):
            def run(head=head, want=want, name=name):
                r = http("GET", "/ca", headers={name: head} if head else {})
                eq(r.status, want, "status")
                if want == 409:
                    is_ca_error(r, 409)
            case("version %s: %s -> %d" % (name, head, want), run)


# ---- tst/caconfig/tst.basic.js ----------------------------------------------
URL_CREATE = "/ca/instrumentations?profile=none"
START_MS = int(time.time() * 1000) - 1000	# crtime is wall-clock ms

BASIC = [
    ('missing required "stat" field', {"module": "vm"}, 409, None),
    ('missing required "module" field', {"stat": "vm"}, 409, None),
    ("invalid module name", {"module": "vm_wrong", "stat": "exits"}, 409,
     None),
    ("invalid stat name", {"module": "vm", "stat": "exits2"}, 409, None),
    ("invalid module type", {"module": {}, "stat": "exits"}, 409, None),
    ("invalid stat type", {"module": "vm", "stat": {}}, 409, None),
    ("illegal predicate: invalid key",
     {"module": "vm", "stat": "exits", "predicate": {"junk": []}}, 409, None),
    ('illegal predicate: too few args to "eq"',
     {"module": "vm", "stat": "exits", "predicate": {"eq": []}}, 409, None),
    ("illegal predicate: wrong type",
     {"module": "vm", "stat": "exits", "predicate": "blah"}, 409, None),
    ("illegal decomposition: illegal field",
     {"module": "vm", "stat": "exits", "decomposition": ["junk"]}, 409, None),
    ("illegal granularity: not a number",
     {"module": "vm", "stat": "exits", "granularity": "foo"}, 409, None),
    ("illegal granularity: zero",
     {"module": "vm", "stat": "exits", "granularity": "0"}, 409, None),
    ("illegal granularity: not a multiple of 5",
     {"module": "vm", "stat": "exits", "granularity": "11"}, 409, None),
    ("illegal granularity: too long a retention-time",
     {"module": "vm", "stat": "exits", "granularity": "1",
      "retention-time": 3601}, 409, None),
    ("illegal value for persist-data",
     {"module": "vm", "stat": "exits", "persist-data": "junk"}, 409, None),
    ("granularity: truncated to an integer",
     {"module": "vm", "stat": "exits", "granularity": "10.5"}, 201,
     {"granularity": 10}),
    ("large granularity and long retention time",
     {"module": "vm", "stat": "exits", "granularity": "10",
      "retention-time": 3601}, 201,
     {"granularity": 10, "retention-time": 3601}),
    ("create with simple metric", {"module": "vm", "stat": "exits"}, 201,
     {"value-dimension": 1, "value-arity": "scalar", "granularity": 1,
      "persist-data": False}),
    ("create with simple metric and persistence",
     {"module": "vm", "stat": "exits", "persist-data": "true"}, 201,
     {"value-dimension": 1, "value-arity": "scalar", "granularity": 1,
      "persist-data": True}),
    ("create with single discrete decomposition",
     {"module": "vm", "stat": "exits", "decomposition": "hostname"}, 201,
     {"value-dimension": 2, "value-arity": "discrete-decomposition"}),
    ("create with single numeric decomposition",
     {"module": "vm", "stat": "exits", "decomposition": "latency"}, 201,
     {"value-dimension": 2, "value-arity": "numeric-decomposition"}),
    ("create with double numeric decomposition",
     {"module": "vm", "stat": "exits",
      "decomposition": ["hostname", "latency"]}, 201,
     {"value-dimension": 3, "value-arity": "numeric-decomposition"}),
    ("create with simple metric and simple predicate",
     {"module": "vm", "stat": "exits",
      "predicate": {"eq": ["hostname", "foo"]}}, 201,
     {"value-dimension": 1, "value-arity": "scalar"}),
    ("create with simple metric and complex predicate",
     {"module": "vm", "stat": "exits",
      "predicate": {"and": [{"eq": ["hostname", "foo"]},
                            {"gt": ["latency", 20]}]}}, 201,
     {"value-dimension": 1, "value-arity": "scalar"}),
]


def check_instrumentation(inp, expect, status, r, rv):
    decomp = inp.get("decomposition") or []
    if isinstance(decomp, str):
        decomp = [decomp]
    eq(r.status, status, "status")
    assert not (isinstance(rv, dict) and "error" in rv), "an error: %r" % rv
    eq(rv["module"], inp["module"], "module")
    eq(rv["stat"], inp["stat"], "stat")
    assert deep_eq(rv["decomposition"], decomp), "decomposition %r" % rv["decomposition"]
    assert deep_eq(rv["predicate"], inp.get("predicate") or {}), "predicate %r" % rv["predicate"]
    eq(rv["value-scope"], "interval", "value-scope")
    if "granularity" not in expect:
        eq(rv["granularity"], 1, "granularity")
    if "retention-time" not in expect:
        eq(rv["retention-time"], 600, "retention-time")
    eq(rv["idle-max"], 3600, "idle-max")
    eq(rv["enabled"], True, "enabled")
    assert deep_eq(rv["transformations"], {}), "transformations"
    eq(rv["uri"], "/ca/instrumentations/" + rv["id"], "uri")
    assert len(rv["id"]) > 0 and len(rv["uris"]) > 0
    eq(len([u for u in rv["uris"] if u["name"] == "value_raw"]), 1, "value_raw")
    assert START_MS <= rv["crtime"] <= time.time() * 1000 + 1000, "crtime %r" % rv["crtime"]
    for k, v in expect.items():
        eq(rv[k], v, "key " + k)


created = []	# (inp, expect, instrumentation)


def basic_global():
    case("basic GET /junk -> 404", lambda: eq(http("GET", "/junk").status, 404))

    def describe():
        r = http("GET", "/ca?profile=none")
        eq(r.status, 200, "status")
        j = r.j
        assert deep_eq(j["transformations"], {})
        for t in j["types"].values():
            assert t["arity"] in ("discrete", "numeric")
        eq(j["fields"]["hostname"]["type"], "string", "hostname type")
        eq(j["fields"]["latency"]["type"], "time", "latency type")
        assert all("label" in f and "type" in f for f in j["fields"].values())
        assert all("label" in m for m in j["modules"].values())
        m = [m for m in j["metrics"] if m["module"] == "vm" and m["stat"] == "exits"][0]
        for k in ("module", "stat", "label", "interval", "fields"):
            assert k in m, "metric lacks " + k
        eq(m["interval"], "interval", "interval")
        assert "hostname" in m["fields"] and "latency" in m["fields"]
    case("basic GET /ca?profile=none: CA's metadata", describe)

    def legacy():
        r = http("GET", "/ca/metrics?profile=none")
        eq(r.status, 200, "status")
        mod, stat = r.j["vm"], r.j["vm"]["stats"]["exits"]
        eq(mod["label"], "Virtual Machine", "module label")
        eq(stat["label"], "VM exits", "stat label")
        eq(stat["type"], "unused", "stat type")
        eq(stat["fields"]["hostname"]["type"], "string", "hostname type")
        eq(stat["fields"]["hostname"]["label"], "server hostname", "label")
        eq(stat["fields"]["latency"]["type"], "latency", "latency type")
        eq(stat["fields"]["latency"]["label"], "latency", "latency label")
    case("basic GET /ca/metrics?profile=none: legacy shape", legacy)
    case("basic GET /ca/instrumentations: none",
         lambda: eq(http("GET", "/ca/instrumentations").j, [], "list"))
    case("basic POST with no data -> 409",
         lambda: is_ca_error(http("POST", URL_CREATE), 409))
    case("basic PUT to create -> 404",
         lambda: eq(http("PUT", URL_CREATE).status, 404, "status"))


def basic_create():
    for name, inp, status, expect in BASIC:
        for how in ("json", "form"):
            def run(name=name, inp=inp, status=status, expect=expect, how=how):
                if how == "json":
                    r = send_json("POST", URL_CREATE, inp)
                else:
                    f = dict(inp)
                    f["predicate"] = json.dumps(inp.get("predicate")) \
                        if "predicate" in inp else None
                    f["profile"] = "none"
                    r = send_form("POST", URL_CREATE, f)
                if status == 409:
                    is_ca_error(r, 409)
                    return
                check_instrumentation(inp, expect, 201, r, r.j)
                eq(r.headers.get("location"), r.j["uri"], "Location")
                created.append((inp, expect, r.j))
            case("basic create (%s): %s" % (how, name), run)


def basic_after():
    for inp, expect, inst in list(created):
        case("basic GET %s" % inst["uri"],
             lambda inp=inp, expect=expect, inst=inst: (
                 lambda r: check_instrumentation(inp, expect, 200, r, r.j))(
                     http("GET", inst["uri"])))

    def listed():
        r = http("GET", "/ca/instrumentations")
        eq(r.status, 200, "status")
        byuri = {i["uri"]: (inp, e) for inp, e, i in created}
        for rv in r.j:
            assert rv["uri"] in byuri, "unexpected " + rv["uri"]
            inp, e = byuri.pop(rv["uri"])
            check_instrumentation(inp, e, 200, r, rv)
        assert not byuri, "missing %r" % list(byuri)
    case("basic list holds every one created", listed)
    for _, _, inst in created:
        case("basic DELETE %s -> 204" % inst["uri"],
             lambda inst=inst: eq(http("DELETE", inst["uri"]).status, 204))
    for _, _, inst in created:
        case("basic GET deleted %s -> 404" % inst["uri"],
             lambda inst=inst: eq(http("GET", inst["uri"]).status, 404))
    case("basic final list empty",
         lambda: eq(http("GET", "/ca/instrumentations").j, [], "list"))


# ---- tst/caconfig/tst.clone.js ------------------------------------------------
def clone():
    initial = {"module": "vm", "stat": "exits", "decomposition": ["hostname"],
               "predicate": {"eq": ["hostname", "foo"]}, "idle-max": 2000,
               "retention-time": 3000, "persist-data": True, "granularity": 5}
    base_val = dict(initial, **{"value-dimension": 2,
                                "value-arity": "discrete-decomposition",
                                "value-scope": "interval", "enabled": True,
                                "transformations": []})
    clones = [
        ("default clone", {}, base_val),
        ("modify one field", {"decomposition": ["latency"]},
         dict(base_val, decomposition=["latency"],
              **{"value-arity": "numeric-decomposition"})),
        ("modify all fields",
         {"module": "vm", "stat": "exits",
          "decomposition": ["hostname", "latency"],
          "predicate": {"eq": ["hostname", "bar"]}, "idle-max": 1000,
          "retention-time": 4000, "persist-data": False, "granularity": 10},
         dict(base_val, decomposition=["hostname", "latency"],
              predicate={"eq": ["hostname", "bar"]}, granularity=10,
              **{"idle-max": 1000, "retention-time": 4000,
                 "persist-data": False, "value-dimension": 3,
                 "value-arity": "numeric-decomposition"})),
    ]
    instns = {}
    state = {}

    def create(url, inp, expected):
        before = time.time() * 1000 - 1000
        r = send_json("POST", url, inp)
        eq(r.status, 201, "status")
        val = dict(r.j)
        assert before <= val["crtime"] <= time.time() * 1000 + 1000, "crtime"
        for k in ("crtime", "uri", "uris", "id", "nsources"):
            val.pop(k, None)
        assert deep_eq(expected, val), "got %r" % val
        rv = dict(r.j)
        rv.pop("nsources", None)
        instns[rv["uri"]] = rv
        return rv

    def check_instns():
        r = http("GET", "/ca/instrumentations")
        eq(r.status, 200, "status")
        eq(len(r.j), len(instns), "count")
        for rv in r.j:
            assert rv["uri"] in instns, "unexpected " + rv["uri"]
            rv.pop("nsources", None)
            assert deep_eq(rv, instns[rv["uri"]]), "differs: %r" % rv

    case("clone: list empty at start", check_instns)

    def one():
        rv = create("/ca/instrumentations?profile=none", initial, base_val)
        state["url"] = rv["uri"] + "/clone?profile=none"
    case("clone: create the original", one)
    case("clone: list after create", check_instns)
    for name, props, val in clones:
        case("clone: " + name,
             lambda props=props, val=val: create(state["url"], props, val)
             and None)
        case("clone: list after " + name, check_instns)
    case("clone: illegal clone -> 409",
         lambda: eq(send_json("POST", state["url"], {"granularity": "foo"}).status, 409))
    for uri in list(instns):
        http("DELETE", uri)


# ---- tst/caagg/http_values.js (its test metric: vm.exits) ------------------------
def values():
    r = send_json("POST", "/ca/instrumentations",
                  {"module": "vm", "stat": "exits", "granularity": 10,
                   "decomposition": ["vleavereason", "latency"]})
    inst = r.j
    base = inst["uri"]
    num = inst["id"]

    case("values GET .../value: raw and heatmap", lambda: eq(
        http("GET", base + "/value").j,
        [{"name": "value_raw", "uri": base + "/value/raw"},
         {"name": "value_heatmap", "uri": base + "/value/heatmap"}], "list"))
    case("values GET .../value/heatmap: CA's four", lambda: eq(
        http("GET", base + "/value/heatmap").j,
        [{"name": k, "uri": base + "/value/heatmap/" + k}
         for k in ("image", "details", "average", "percentile")], "list"))

    # Wait for data to have reached the instrumentation: two intervals.
    t = now()
    deadline = time.time() + 120
    while now() < t - t % 10 + 21 and time.time() < deadline:
        time.sleep(0.5)
    t2 = (now() - 20) // 10 * 10	# a complete interval, CA's time2

    KEYS = {"start_time", "duration", "end_time", "requested_start_time",
            "requested_duration", "requested_end_time", "value",
            "minreporting", "transformations", "nsources"}

    def rawval():
        r = send_form("GET", base + "/value/raw",
                      {"start_time": t2 + 1, "duration": 8})
        eq(r.status, 200, "status")
        rv = r.j
        eq(set(rv), KEYS, "keys")
        eq((rv["start_time"], rv["duration"], rv["end_time"]),
           (t2, 10, t2 + 10), "normalized by server")
        eq((rv["requested_start_time"], rv["requested_duration"],
            rv["requested_end_time"]), (t2 + 1, 8, t2 + 9), "requested_*")
        assert rv["minreporting"] >= 1 and rv["nsources"] >= 1
        assert deep_eq(rv["transformations"], {})
        assert isinstance(rv["value"], dict)
    case("values raw start_time=time2+1 duration=8", rawval)

    def ndatapoints():
        t1 = t2 - 10
        r = send_json("GET", base + "/value/raw",
                      {"start_time": t1 - 9, "duration": 10, "ndatapoints": 3})
        eq(r.status, 200, "status")
        eq(len(r.j), 3, "points")
        for i, p in enumerate(r.j):
            eq(set(p), KEYS, "keys")
            eq((p["start_time"], p["duration"], p["end_time"]),
               (t1 - 10 + 10 * i, 10, t1 + 10 * i), "point %d" % i)
            eq((p["requested_start_time"], p["requested_duration"],
                p["requested_end_time"]),
               (t1 - 9 + 10 * i, 10, t1 + 1 + 10 * i), "requested %d" % i)
    case("values raw ndatapoints=3 (JSON body on GET)", ndatapoints)

    def future_fail():
        r = send_form("GET", base + "/value/raw", {"start_time": now() + 10})
        is_ca_error(r, 409)
        # DEVIATION: our error also names the parameter ("param").
        eq(r.j, {"error": {"code": "ECA_INVAL", "message":
                           "requested data point is too far in the future",
                           "param": "start_time"}}, "body")
    case("values start_time 10 s ahead -> 409 too far in the future", future_fail)

    def future_ok():
        # CA waited up to timeout ms for the data of an interval not yet
        # complete.  Ours completes as the clock reaches its end (a second
        # or two here), so the answer comes complete, after a wait; had it
        # not, "delay" would say how long we waited (the unit test
        # test_router drives that with a clock that stands still).
        u = send_json("POST", "/ca/instrumentations",
                      {"module": "vm", "stat": "exits"}).j["uri"]
        r = send_form("GET", u + "/value/raw",
                      {"start_time": now(), "timeout": 2000})
        after = now()
        http("DELETE", u)
        eq(r.status, 200, "status")
        if "delay" in r.j:
            assert 2000 < r.j["delay"] < 3000, "delay %r" % r.j["delay"]
        else:	# it waited until the interval was complete
            assert r.j["end_time"] <= after, "answered before complete"
    case("values start in the unfinished interval, timeout=2000: waits",
         future_ok)

    def xforms():
        # DEVIATION: no transformations (reversedns, geolocate) exist here.
        r = send_form("GET", base + "/value/raw",
                      {"start_time": t2, "transformations": "reversedns"})
        is_ca_error(r, 409)
    case("values transformations=reversedns -> 409 (none exist)", xforms)

    invalid = [{"start_time": "foo"}, {"duration": "foo"}, {"end_time": "foo"},
               {"end_time": -1},
               {"start_time": t2 - 10, "end_time": t2,
                "duration": 11},
               {"transformations": "blahblah"},
               {"transformations": "geolocate"}, {"ndatapoints": 0}]
    for inp in invalid:
        case("values invalid %s -> 409 ECA_INVAL" % json.dumps(inp),
             lambda inp=inp: is_ca_error(
                 send_form("GET", base + "/value/raw", inp), 409))

    case("values no such instrumentation 17 -> 404",
         lambda: eq(http("GET", "/ca/instrumentations/1717/value/raw").status,
                    404))
    # CA's aggregator made up an instrumentation from its config service's
    # private x-ca-instn-* headers.  DEVIATION: those are CA's internal
    # interface between its two services; we have one, and answer 404.
    hdrs = [("scalar", "raw"), ("scalar", "heatmap/image"),
            ("scalar10", "raw"), ("numeric-decomposition", "raw"),
            ("numeric-decomposition", "heatmap/image"),
            ("discrete-decomposition", "raw"),
            ("discrete-decomposition", "heatmap/image")]
    for arity, res in hdrs:
        case("values synthetic %s %s -> 404" % (arity, res),
             lambda arity=arity, res=res: eq(http(
                 "GET", "/ca/instrumentations/1717/value/" + res, headers={
                     "x-ca-instn-arity": arity.replace("10", ""),
                     "x-ca-instn-granularity": "10" if "10" in arity else "1"
                 }).status, 404))
    return base, num, t2


# ---- the parameter rules of ca-svc-config.js, caaggsvc.js, ca-agg.js --------
def rules(base, t2):
    C = "/ca/instrumentations"
    X = {"module": "vm", "stat": "exits"}

    def create_ok(extra, check=None):
        def run():
            r = send_json("POST", C, dict(X, **extra))
            eq(r.status, 201, "status (%s)" % r.raw[:160])
            if check:
                check(r.j)
            http("DELETE", r.j["uri"])
        return run

    def create_bad(extra, ctype="json"):
        def run():
            before = http("GET", C).j
            body = dict(X, **extra)
            r = send_json("POST", C, body) if ctype == "json" else \
                send_form("POST", C, body)
            is_ca_error(r, 409)
            eq(http("GET", C).j, before, "unchanged")
        return run

    R = "svc-config "
    case(R + "module required", create_bad({"module": ""}))
    case(R + "stat required", create_bad({"stat": ""}))
    case(R + "module.stat must exist", create_bad({"stat": "nosuch"}))
    case(R + "decomposition string is split on commas",
         create_ok({"decomposition": "vleavereason,latency"},
                   lambda j: eq(j["decomposition"], ["vleavereason", "latency"])))
    case(R + "empty decomposition string is none",
         create_ok({"decomposition": ""},
                   lambda j: eq(j["decomposition"], [])))
    case(R + "predicate as JSON text",
         create_ok({"predicate": '{"eq":["vleavereason","hlt"]}'},
                   lambda j: eq(j["predicate"], {"eq": ["vleavereason", "hlt"]})))
    case(R + "predicate JSON text that does not parse", create_bad({"predicate": "{bad"}))
    case(R + "predicate field must belong to the metric",
         create_bad({"predicate": {"eq": ["irqvector", "fb"]}}))
    case(R + "predicate: numeric op on a discrete field",
         create_bad({"predicate": {"gt": ["vleavereason", 1]}}))
    case(R + "decomposition field must belong to the metric",
         create_bad({"decomposition": ["irqvector"]}))
    case(R + "at most one discrete decomposition",
         create_bad({"decomposition": ["vleavereason", "vcpu"]}))
    case(R + "at most one numeric decomposition",
         create_bad({"decomposition": ["latency", "subsecond"]}))
    case(R + "granularity default 1", create_ok({}, lambda j: eq(j["granularity"], 1)))
    case(R + "granularity parseInt '60s' is 60",
         create_ok({"granularity": "60s"}, lambda j: eq(j["granularity"], 60)))
    case(R + "granularity negative", create_bad({"granularity": -5}))
    case(R + "granularity 5 accepted", create_ok({"granularity": 5}))
    case(R + "granularity 7 refused", create_bad({"granularity": 7}))
    case(R + "enabled true accepted", create_ok({"enabled": "true"},
                                               lambda j: eq(j["enabled"], True)))
    case(R + "enabled false refused", create_bad({"enabled": False}))
    case(R + "enabled junk refused", create_bad({"enabled": "yes"}))
    case(R + "retention-time default 600",
         create_ok({}, lambda j: eq(j["retention-time"], 600)))
    case(R + "retention-time not a number", create_bad({"retention-time": "x"}))
    case(R + "retention-time minimum 10", create_bad({"retention-time": 9}))
    case(R + "retention-time 10 accepted", create_ok({"retention-time": 10}))
    case(R + "retention-time parseInt '100.9' is 100",
         create_ok({"retention-time": "100.9"},
                   lambda j: eq(j["retention-time"], 100)))
    case(R + "retention-time max 3600 x granularity",
         create_bad({"granularity": 5, "retention-time": 18001}))
    case(R + "retention-time 18000 at granularity 5",
         create_ok({"granularity": 5, "retention-time": 18000}))
    case(R + "idle-max default 3600", create_ok({}, lambda j: eq(j["idle-max"], 3600)))
    case(R + "idle-max not a number", create_bad({"idle-max": "x"}))
    case(R + "idle-max negative", create_bad({"idle-max": -1}))
    case(R + "idle-max max 604800", create_bad({"idle-max": 604801}))
    case(R + "idle-max 604800 accepted", create_ok({"idle-max": 604800}))
    case(R + "idle-max 0 for the operator", create_ok({"idle-max": 0}))
    case(R + "persist-data 'false'",
         create_ok({"persist-data": "false"}, lambda j: eq(j["persist-data"], False)))
    case(R + "persist-data must be a boolean", create_bad({"persist-data": 1}))
    case(R + "unknown parameters ignored",
         create_ok({"profile": "none", "frob": 1}))
    case(R + "a form's repeated decomposition keys",
         lambda: (lambda r: (eq(r.status, 201), eq(r.j["decomposition"],
                                                   ["vleavereason", "latency"]),
                             http("DELETE", r.j["uri"])))(
             send_form("POST", C, dict(X, decomposition=["vleavereason",
                                                         "latency"]))) and None)
    case(R + "uris in CA's order (heatmap, details, raw)",
         create_ok({"decomposition": "latency"}, lambda j: eq(
             [u["name"] for u in j["uris"]],
             ["value_heatmap", "details_heatmap", "value_raw"])))
    case(R + "scalar uris: raw only",
         create_ok({}, lambda j: eq([u["name"] for u in j["uris"]], ["value_raw"])))

    # PUT: only the mutable four change; the rest is ignored.
    def put_rules():
        r = send_json("POST", C, dict(X, granularity=5))
        u = r.j["uri"]
        r = send_json("PUT", u, {"retention-time": 120, "idle-max": 60,
                                 "persist-data": True, "enabled": True,
                                 "granularity": 10, "module": "nic",
                                 "decomposition": ["latency"], "frob": 1})
        eq(r.status, 200, "status")
        eq((r.j["retention-time"], r.j["idle-max"], r.j["persist-data"],
            r.j["granularity"], r.j["module"], r.j["decomposition"]),
           (120, 60, True, 5, "vm", []), "props")
        is_ca_error(send_json("PUT", u, {"retention-time": 5}), 409)
        is_ca_error(send_json("PUT", u, {"enabled": "false"}), 409)
        eq(http("GET", u).j["retention-time"], 120, "unchanged by errors")
        http("DELETE", u)
    case(R + "PUT changes the mutable properties and ignores the rest", put_rules)
    case(R + "PUT on the collection -> 404",
         lambda: eq(send_json("PUT", C, X).status, 404))
    case(R + "OPTIONS on anything -> 200 with CA's CORS headers",
         lambda: (lambda r: (eq(r.status, 200), eq(
             r.headers.get("access-control-allow-methods"),
             "POST, GET, DELETE, PUT"), eq(
             r.headers.get("access-control-allow-headers"), "Content-type"),
             eq(r.headers.get("access-control-allow-origin"), "*")))(
             http("OPTIONS", "/no/such/resource")) and None)
    case(R + "Access-Control-Allow-Origin on a 200",
         lambda: eq(http("GET", "/ca").headers.get(
             "access-control-allow-origin"), "*"))
    case(R + "body over 4096 bytes -> 413",
         lambda: eq(http("POST", C, "a" * 5000,
                         "application/x-www-form-urlencoded").status, 413))
    case(R + "multipart -> 415 ECA_INVAL",
         lambda: is_ca_error(http("POST", C, "--x\r\n\r\n--x--\r\n",
                                  "multipart/form-data; boundary=x"), 415))
    case(R + "JSON body that is not JSON -> 409",
         lambda: is_ca_error(http("POST", C, "{\"module\":", "application/json"), 409))
    case(R + "/ca/docs exists",
         lambda: eq(http("GET", "/ca/docs").status, 200))
    case(R + "aliases: vcpuid and zonename in decompositions and predicates",
         create_ok({"decomposition": ["vcpuid"],
                    "predicate": {"ne": ["zonename", "x"]}}))
    case(R + "types.percent: unit percent, abbr %",
         lambda: eq((lambda t: (t["unit"], t["abbr"]))(
             http("GET", "/ca").j["types"]["percent"]), ("percent", "%")))

    # caaggsvc.js aggValueParams and ca-agg.js caAggrInterval.
    A = "aggsvc "
    raw = base + "/value/raw"

    def vbad(params):
        return lambda: is_ca_error(send_form("GET", raw, params), 409)

    def vok(params, check=None):
        def run():
            r = send_form("GET", raw, params)
            eq(r.status, 200, "status (%s)" % r.raw[:160])
            if check:
                check(r.j)
        return run
    case(A + "duration 0", vbad({"duration": 0}))
    case(A + "duration 3601", vbad({"duration": 3601}))
    case(A + "duration parseInt '10.5' is 10",
         vok({"duration": "10.5", "start_time": t2},
             lambda j: eq(j["requested_duration"], 10)))
    case(A + "start_time negative", vbad({"start_time": -1}))
    case(A + "ndatapoints 1 answers a list",
         vok({"ndatapoints": 1, "start_time": t2}, lambda j: eq(len(j), 1)))
    case(A + "timeout 5001", vbad({"timeout": 5001}))
    case(A + "timeout -1", vbad({"timeout": -1}))
    case(A + "timeout 0 accepted", vok({"timeout": 0}))
    case(A + "duration > end_time", vbad({"end_time": 5, "duration": 10}))
    case(A + "end_time <= start_time", vbad({"start_time": t2, "end_time": t2}))
    case(A + "start_time + end_time give duration",
         vok({"start_time": t2 - 20, "end_time": t2},
             lambda j: eq(j["requested_duration"], 20)))
    case(A + "end_time + duration give start_time",
         vok({"end_time": t2, "duration": 20},
             lambda j: eq(j["requested_start_time"], t2 - 20)))

    def default_interval():
        n0 = now()
        r = send_form("GET", raw, {})
        n = now()
        eq(r.status, 200, "status")
        # now - duration - granularity, duration 1 for raw.
        assert n0 - 1 - 10 <= r.j["requested_start_time"] <= n - 1 - 10, \
            "requested_start_time %r (now %r..%r)" % (
                r.j["requested_start_time"], n0, n)
        eq(r.j["requested_duration"], 1, "default duration")
    case(A + "default interval: now - duration - granularity", default_interval)

    H = "agg heatmap "
    img = base + "/value/heatmap/image"

    def hbad(params, res="image"):
        return lambda: is_ca_error(send_form("GET", base + "/value/heatmap/" + res,
                                             dict(params, start_time=t2 - 60)), 409)

    def hok(params, check=None, res="image"):
        def run():
            r = send_form("GET", base + "/value/heatmap/" + res,
                          dict(params, start_time=t2 - 60))
            eq(r.status, 200, "status (%s)" % r.raw[:200])
            if check:
                check(r.j)
        return run
    case(H + "height 9", hbad({"height": 9}))
    case(H + "height 1001", hbad({"height": 1001}))
    case(H + "width 9", hbad({"width": 9}))
    case(H + "width 1001", hbad({"width": 1001}))
    case(H + "width parseInt '100.5' is 100",
         hok({"width": "100.5"}, lambda j: eq(j["width"], 100)))
    case(H + "defaults 600 x 300, nbuckets 100",
         hok({}, lambda j: eq((j["width"], j["height"], j["nbuckets"]),
                               (600, 300, 100))))
    case(H + "ymin negative", hbad({"ymin": -1}))
    case(H + "ymax over 1e12", hbad({"ymax": 1000000000001}))
    case(H + "ymax with decimals accepted", hok({"ymax": "1000.7"},
                                                lambda j: eq(j["ymax"], 1000)))
    case(H + "ymin >= ymax", hbad({"ymin": 100, "ymax": 100}))
    case(H + "nbuckets 0", hbad({"nbuckets": 0}))
    case(H + "nbuckets 101", hbad({"nbuckets": 101}))
    case(H + "isolate not a boolean", hbad({"isolate": "yes"}))
    case(H + "more than one of isolate, exclude, decompose_all",
         hbad({"isolate": "true", "exclude": "true"}))
    case(H + "weights must be count or weight", hbad({"weights": "mass"}))
    case(H + "coloring must be rank or linear", hbad({"coloring": "pink"}))
    case(H + "hue 360 invalid", hbad({"hues": "360"}))
    case(H + "not enough hues for the selection",
         hbad({"selected": "hlt,io", "hues": "10"}))
    case(H + "hues parseInt '21.5' is 21", hok({"hues": "21.5"}))
    case(H + "details: x required", hbad({"y": 1, "ymax": 1000}, "details"))
    case(H + "details: y required", hbad({"x": 1, "ymax": 1000}, "details"))
    case(H + "details: x < width", hbad({"x": 600, "y": 1, "ymax": 1000}, "details"))
    case(H + "details: y < height", hbad({"x": 1, "y": 300, "ymax": 1000}, "details"))
    case(H + "details with ymax", hok({"x": 1, "y": 1, "ymax": 1000}, None, "details"))
    # EXTENSION: ymax is optional for details (CA: '"ymax" must be specified').
    case(H + "details without ymax (our extension)",
         hok({"x": 1, "y": 1}, None, "details"))
    case(H + "percentile required", hbad({}, "percentile"))
    case(H + "percentile > 1", hbad({"percentile": 1.5}, "percentile"))
    case(H + "percentile parseFloat '0.5x'",
         hok({"percentile": "0.5x"}, None, "percentile"))
    case(H + "average", hok({}, None, "average"))

    def scalar_heatmap():
        r = send_json("POST", C, X)
        u = r.j["uri"]
        eq(http("GET", u + "/value/heatmap/image").status, 404, "image")
        eq(http("GET", u + "/value/heatmap").status, 404, "list")
        eq([e["name"] for e in http("GET", u + "/value").j], ["value_raw"], "value")
        http("DELETE", u)
    case(H + "no heatmap of a scalar instrumentation: 404", scalar_heatmap)


def main():
    badconfig()
    version()
    basic_global()
    basic_create()
    basic_after()
    clone()
    base, _, t2 = values()
    rules(base, t2)
    http("DELETE", base)
    npass = sum(1 for _, ok, _ in results if ok)
    bad = [(n, d) for n, ok, d in results if not ok]
    for n, d in bad:
        print("FAIL: %s: %s" % (n, d))
    print("%d/%d CA cases pass" % (npass, len(results)))
    unexpected = [n for n, _ in bad if n not in KNOWN_GAPS]
    if npass * 100 < 95 * len(results) or unexpected:
        sys.exit(1)


main()
