"""The table, JSON and SVG plot of bench/scaling.sh's points (one JSON object
per line: sweep, size, task, batch, seconds, peak_rss_mb, arena_mb, ...).
   scaling_plot.py <points> <device> <threads>"""
import datetime
import json
import math
import sys

points = [json.loads(line) for line in open(sys.argv[1])]
device, threads = sys.argv[2], sys.argv[3]
TASKS = {"train": ("training step", "#c0392b"), "forward": ("forward", "#2471a3")}
# On a GPU the memory that matters is the GPU's (held by the caching allocator).
MEMORY, MEMORY_LABEL = ("peak_rss_mb", "peak memory (MB)") if device == "cpu" else ("gpu_mb", "GPU memory (MB)")

print(f"scaling on {device}, {threads} threads: ms per image, {MEMORY_LABEL}, planned arena MB")
print(f"{'sweep':6} {'size':>5} {'batch':>5} {'task':8} {'ms/image':>10} {'memory':>8} {'arena MB':>9}")
for p in points:
    print(f"{p['sweep']:6} {p['size']:5} {p['batch']:5} {p['task']:8} {1000 * p['seconds'] / p['batch']:10.1f} "
          f"{p[MEMORY]:8.0f} {p['arena_mb']:9.0f}")
with open(f"bench/results/scaling-{device}.json", "w") as f:
    json.dump({"date": datetime.date.today().isoformat(), "device": device, "threads": int(threads), "points": points},
              f, indent=1)

W, H, LEFT, TOP, PW, PH = 900, 640, 70, 70, 340, 200  # canvas, margins, one panel


def panel(x0, y0, sweep, xkey, xlabel, ylabel, value, log_x):
    rows = [p for p in points if p["sweep"] == sweep]
    xs = sorted({p[xkey] for p in rows})
    ymax = max(value(p) for p in rows) * 1.1
    fx = (lambda v: math.log2(v)) if log_x else (lambda v: v)
    lo, hi = fx(xs[0]), fx(xs[-1])
    px = lambda v: x0 + PW * (fx(v) - lo) / (hi - lo)
    py = lambda v: y0 + PH * (1 - v / ymax)
    out = [f'<rect x="{x0}" y="{y0}" width="{PW}" height="{PH}" fill="none" stroke="#999"/>',
           f'<text x="{x0 + PW / 2}" y="{y0 + PH + 34}" text-anchor="middle">{xlabel}</text>',
           f'<text x="{x0 - 60}" y="{y0 + PH / 2}" transform="rotate(-90 {x0 - 60} {y0 + PH / 2})" '
           f'text-anchor="middle">{ylabel}</text>']
    for v in xs:
        out.append(f'<text x="{px(v):.1f}" y="{y0 + PH + 16}" text-anchor="middle">{v}</text>')
    for k in range(5):
        v = ymax * k / 4
        out.append(f'<line x1="{x0}" x2="{x0 + PW}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#eee"/>'
                   f'<text x="{x0 - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
    for task, (_, colour) in TASKS.items():
        line = sorted((p[xkey], value(p)) for p in rows if p["task"] == task)
        d = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{d}"/>')
        out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in line]
    return "".join(out)


per_image = lambda p: 1000 * p["seconds"] / p["batch"]
memory = lambda p: p[MEMORY]
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="15">DMDLK-Net scaling on {device} '
       f'({threads} threads, {datetime.date.today().isoformat()})</text>',
       panel(LEFT + 20, TOP, "batch", "batch", "batch (224×224)", "ms per image", per_image, True),
       panel(LEFT + 470, TOP, "size", "size", "input side (batch 1)", "ms per image", per_image, False),
       panel(LEFT + 20, TOP + 290, "batch", "batch", "batch (224×224)", MEMORY_LABEL, memory, True),
       panel(LEFT + 470, TOP + 290, "size", "size", "input side (batch 1)", MEMORY_LABEL, memory, False)]
for i, (task, (name, colour)) in enumerate(TASKS.items()):
    x = W / 2 - 130 + 160 * i
    svg.append(f'<line x1="{x}" x2="{x + 22}" y1="44" y2="44" stroke="{colour}" stroke-width="2"/>'
               f'<text x="{x + 28}" y="48">{name}</text>')
svg.append("</svg>")
with open(f"bench/results/scaling-{device}.svg", "w") as f:
    f.write("".join(svg))
