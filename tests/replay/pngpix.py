#!/usr/bin/env python3
# pngpix.py - decodes an 8-bit RGB or palette PNG (what kvmscope writes)
# with zlib alone and answers pixel questions about a replay figure:
#   pngpix.py FILE PX PY PW PH
# where (PX,PY) is the bare heatmap's origin in the figure and PW x PH its
# size.  Prints "ok" or what is wrong; exits non-zero when wrong.
import struct, sys, zlib

def decode(path):
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat, plte = 8, b'', None
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b'IHDR':
            w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
            assert depth == 8 and ctype in (2, 3), 'unexpected PNG type'
        elif kind == b'PLTE':
            plte = [tuple(body[i:i + 3]) for i in range(0, n, 3)]
        elif kind == b'IDAT':
            idat += body
    raw, bpp = zlib.decompress(idat), 3 if ctype == 2 else 1
    stride, rows, prev = w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append([tuple(line[x * 3:x * 3 + 3]) if bpp == 3 else plte[line[x]] for x in range(w)])
        prev = line
    return w, h, rows

w, h, px = decode(sys.argv[1])
X, Y, W, H = map(int, sys.argv[2:6])
white, axis, ink = (255, 255, 255), (80, 80, 80), (0, 0, 0)
bad = []
# The value axis and the time axis sit just outside the plot.
if any(px[y][X - 1] != axis for y in range(Y, Y + H)):
    bad.append('no value axis at x=%d' % (X - 1))
if any(px[Y + H][x] != axis for x in range(X, X + W)):
    bad.append('no time axis at y=%d' % (Y + H))
# Tick labels left of the axis, under it, a title above, a legend right.
def inked(x0, y0, x1, y1):
    return any(px[y][x] == ink for y in range(max(y0, 0), min(y1, h)) for x in range(max(x0, 0), min(x1, w)))
if not inked(0, Y, X - 5, Y + H): bad.append('no value tick labels')
if not inked(X, Y + H + 2, X + W, Y + H + 20): bad.append('no time tick labels')
if not inked(0, 0, w, Y - 12): bad.append('no title')
if not inked(X + W + 2, Y, w, h): bad.append('no legend text')
legend = [px[y][x] for y in range(Y, h) for x in range(X + W + 2, w)]
if not any(p not in (white, ink, axis, (200, 200, 200)) for p in legend):
    bad.append('no legend colours')
# The plot has data in it.
if all(px[y][x] == white for y in range(Y, Y + H) for x in range(X, X + W)):
    bad.append('the plot is empty')
if bad:
    print('; '.join(bad))
    sys.exit(1)
print('ok')
