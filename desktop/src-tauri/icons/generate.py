#!/usr/bin/env python3
"""Draws the app icon (icon.png, 256x256 RGBA, and 32x32.png, 128x128.png) with the standard
library only: a dark rounded square with three rising candles. Run it from this directory."""
import struct
import zlib

BG = (15, 23, 42, 255)        # slate-900
UP = (34, 197, 94, 255)       # green-500
WICK = (148, 163, 184, 255)   # slate-400


def draw(size):
    s = size / 256
    px = [[(0, 0, 0, 0)] * size for _ in range(size)]
    r = 48 * s

    def inside_rounded(x, y):
        cx = min(max(x, r), size - 1 - r)
        cy = min(max(y, r), size - 1 - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    for y in range(size):
        for x in range(size):
            if inside_rounded(x + 0.5, y + 0.5):
                px[y][x] = BG

    def rect(x0, y0, x1, y1, c):
        for y in range(int(y0 * s), max(int(y1 * s), int(y0 * s) + 1)):
            for x in range(int(x0 * s), max(int(x1 * s), int(x0 * s) + 1)):
                px[y][x] = c

    # (centre x, wick top, body top, body bottom, wick bottom)
    for cx, wt, bt, bb, wb in [(72, 130, 145, 200, 214), (128, 88, 104, 170, 186), (184, 42, 58, 130, 146)]:
        rect(cx - 3, wt, cx + 3, wb, WICK)
        rect(cx - 20, bt, cx + 20, bb, UP)
    return px


def png(px):
    h, w = len(px), len(px[0])
    raw = b"".join(b"\x00" + b"".join(struct.pack("BBBB", *p) for p in row) for row in px)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


for name, size in [("icon.png", 256), ("128x128.png", 128), ("32x32.png", 32)]:
    with open(name, "wb") as f:
        f.write(png(draw(size)))
