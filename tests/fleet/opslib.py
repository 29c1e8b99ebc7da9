#!/usr/bin/env python3
# opslib.py - shared by tests/fleet/t_rules.sh and t_grafana.sh.
#
# Reads a Prometheus rules file (the layout of
# contrib/prometheus/kvmscope.rules.yml: one `- record:` or `- alert:` item
# per rule, its `expr:` on one line or as a `|` block) without a YAML
# library:
#   opslib.py list FILE              prints "KIND NAME<TAB>EXPR" per rule
#   opslib.py mutate FILE NAME EXPR  prints FILE with NAME's expr = EXPR
# and, imported, tells which families an agent's /metrics declares and
# which have series (families()).
import re, sys

ITEM = re.compile(r'^(\s*)- (record|alert): (\S+)\s*$')
EXPR = re.compile(r'^(\s*)expr: ?(.*)$')


def rules(lines):
    """[(kind, name, first_line, last_line_excl, expr)] of the expr lines."""
    out, i = [], 0
    while i < len(lines):
        m = ITEM.match(lines[i])
        if not m:
            i += 1
            continue
        kind, name = m.group(2), m.group(3)
        j = i + 1
        while j < len(lines) and not ITEM.match(lines[j]):
            e = EXPR.match(lines[j])
            if e:
                ind, rest = len(e.group(1)), e.group(2).strip()
                k = j + 1
                if rest in ('|', '>', '|-', '>-'):
                    body = []
                    while k < len(lines) and (not lines[k].strip() or
                            len(lines[k]) - len(lines[k].lstrip()) > ind):
                        body.append(lines[k].strip())
                        k += 1
                    rest = ' '.join(b for b in body if b)
                out.append((kind, name, j, k, rest))
                break
            j += 1
        i = j
    return out


def families(path):
    """(declared, present): the families a text exposition declares with
    # TYPE, and the series names it has samples of; family(s) maps a
    series name to its family (a histogram's _bucket, _sum, _count)."""
    declared, present = set(), set()
    for line in open(path):
        if line.startswith("# TYPE "):
            declared.add(line.split()[2])
        elif line.strip() and not line.startswith("#"):
            present.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return declared, present


def family(series):
    return re.sub(r"_(bucket|sum|count)$", "", series)


def main():
    lines = open(sys.argv[2]).read().split('\n')
    rs = rules(lines)
    if sys.argv[1] == 'list':
        for kind, name, _, _, expr in rs:
            print('%s %s\t%s' % (kind, name, expr))
        return
    name, expr = sys.argv[3], sys.argv[4]
    hit = [r for r in rs if r[1] == name]
    if len(hit) != 1:
        sys.exit('opslib: %d rules named %s' % (len(hit), name))
    _, _, a, b, _ = hit[0]
    ind = lines[a][:len(lines[a]) - len(lines[a].lstrip())]
    lines[a:b] = [ind + 'expr: ' + expr.replace("'", "''").join("''")]
    sys.stdout.write('\n'.join(lines))


if __name__ == '__main__':
    main()
