#!/usr/bin/env python3
# bench/report.py - combines coro-bench --tsv runs into one table, a data file and a depth chart.
# SPDX-License-Identifier: MIT
#
#   report.py --data OUT.tsv --chart OUT.svg BACKEND=RUN.tsv [BACKEND=RUN.tsv ...]
#
# Each RUN.tsv is the stdout of `coro-bench --tsv` built with BACKEND. Prints
# a Markdown table (metric, one column per backend, unit) and the goal
# ratios of each run on stdout; writes the same table as TSV to OUT.tsv and
# an SVG line chart of send cost against yield-from depth to OUT.svg. The
# peers (Boost.Context, PCL, CPython) do not depend on the backend: they are
# measured again in every run, and each run's ratios use that run's numbers.
# Python standard library only.
import math
import sys
from xml.sax.saxutils import escape

DEPTH_ROWS = [("0 (send)", "send_ns", "cpython_send_ns")] + [
    (str(d), f"yield_from_{d}_ns", f"cpython_yield_from_{d}_ns") for d in (1, 10, 100)
]
# (numerator, denominator, "<=" or ">=", goal), as coro-bench prints them.
RATIOS = [
    ("send_ns", "swapcontext_pair_ns", "<=", 1.10),
    ("yield_from_100_ns", "yield_from_1_ns", "<=", 1.50),
    ("send_ns", "boost_fcontext_pair_ns", "<=", 1.50),
    ("cpython_send_ns", "send_ns", ">=", 5.0),
    # Birth and death, try/except, the shared floating-point switch.
    ("cpython_create_close_ns", "create_destroy_pooled_ns", ">=", 2.0),
    ("cpython_try_raise_ns", "try_raise_ns", ">=", 3.0),
    ("send_shared_fp_ns", "boost_fcontext_pair_ns", "<=", 0.90),
    # coro::aio against its peers.
    ("uvloop_sleep0_ns", "aio_sleep0_ns", ">=", 15.0),
    ("asyncio_spawn_ns", "aio_spawn_ns", ">=", 8.0),
    ("aio_sleep0_ns", "send_ns", "<=", 1.30),
]
# (backend, numerator, denominator, "<=" or ">=", goal): ratios whose goal
# holds for one backend's run only ("-" in the other columns).
BACKEND_RATIOS = [
    # Echo over loopback: near the bare epoll server and no slower than
    # uvloop on asm; on ucontext every switch is two system calls more.
    ("asm", "aio_echo_rps", "epoll_echo_rps", ">=", 0.85),
    ("asm", "aio_echo_rps", "uvloop_echo_rps", ">=", 1.0),
    ("ucontext", "aio_echo_rps", "epoll_echo_rps", ">=", 0.70),
]
# (metric, "<=" or ">=", goal): targets on one row of a run.
LIMITS = [
    ("create_destroy_pooled_ns", "<=", 100.0),
    ("spawn_burst_compact_ns", "<=", 300.0),
    ("spawn_burst_ns", "<=", 1000.0),
    ("aio_sleep0_ns", "<=", 60.0),
    ("aio_handoff_ns", "<=", 80.0),
    ("aio_spawn_ns", "<=", 500.0),
    ("aio_timer_arm_ns", "<=", 150.0),
    ("aio_timer_fire_per_s", ">=", 5000000.0),
    ("aio_mem_per_task_bytes", "<=", 5120.0),
]
COLOURS = ["#1f63b4", "#d62728", "#2a9d3a", "#8c564b"]
# Where each line's value labels go (dx, dy, anchor), so that lines that meet
# do not print their numbers on top of each other.
LABEL_PLACES = [(7, -7, "start"), (7, 16, "start"), (-7, -7, "end"), (-7, 16, "end")]


def read_run(path):
    """metric -> (value, unit), in the order of the file."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            metric, value, unit = line.rstrip("\n").split("\t")
            rows[metric] = (float(value), unit)
    return rows


def fmt(value, unit):
    if value is None:
        return "-"
    return f"{value:.0f}" if unit in ("bytes", "req/s") else f"{value:.1f}"


def combine(runs):
    """[(metric, [value or None per run], unit)], metrics in first-seen order."""
    order, units = [], {}
    for _, rows in runs:
        for metric, (_, unit) in rows.items():
            if metric not in units:
                order.append(metric)
                units[metric] = unit
    return [(m, [rows.get(m, (None,))[0] for _, rows in runs], units[m]) for m in order]


def print_tables(runs, table):
    names = [name for name, _ in runs]
    print("| metric | " + " | ".join(names) + " | unit |")
    print("|---|" + "---:|" * len(names) + "---|")
    for metric, values, unit in table:
        print(f"| {metric} | " + " | ".join(fmt(v, unit) for v in values) + f" | {unit} |")
    print()
    print("| ratio | " + " | ".join(names) + " | goal |")
    print("|---|" + "---:|" * len(names) + "---|")
    for num, den, op, goal in RATIOS:
        if goal is None:
            continue
        cells = []
        for _, rows in runs:
            if num in rows and den in rows:
                r = rows[num][0] / rows[den][0]
                met = r <= goal if op == "<=" else r >= goal
                cells.append(f"{r:.3f} ({'met' if met else 'NOT met'})")
            else:
                cells.append("-")
        print(f"| {num} / {den} | " + " | ".join(cells) + f" | {op} {goal:.2f} |")
    # The ucontext birth-and-death goal: a pooled cycle within 1.2 x
    # (makecontext + 2 swapcontext pairs), a close being one round trip.
    cells = []
    for _, rows in runs:
        need = ("create_destroy_pooled_ns", "makecontext_ns", "swapcontext_pair_ns")
        if all(m in rows for m in need):
            bound = rows["makecontext_ns"][0] + 2 * rows["swapcontext_pair_ns"][0]
            r = rows["create_destroy_pooled_ns"][0] / bound
            cells.append(f"{r:.3f} ({'met' if r <= 1.2 else 'NOT met'})")
        else:
            cells.append("-")
    print("| create_destroy_pooled_ns / (makecontext_ns + 2 swapcontext_pair_ns) | "
          + " | ".join(cells) + " | <= 1.20 (ucontext) |")
    for backend, num, den, op, goal in BACKEND_RATIOS:
        cells = []
        for name, rows in runs:
            if name == backend and num in rows and den in rows:
                r = rows[num][0] / rows[den][0]
                met = r <= goal if op == "<=" else r >= goal
                cells.append(f"{r:.3f} ({'met' if met else 'NOT met'})")
            else:
                cells.append("-")
        print(f"| {num} / {den} | " + " | ".join(cells) + f" | {op} {goal:.2f} ({backend}) |")
    print()
    print("| row | " + " | ".join(names) + " | goal |")
    print("|---|" + "---:|" * len(names) + "---|")
    for metric, op, goal in LIMITS:
        cells = []
        for _, rows in runs:
            if metric in rows:
                v = rows[metric][0]
                met = v <= goal if op == "<=" else v >= goal
                cells.append(f"{v:.1f} ({'met' if met else 'NOT met'})")
            else:
                cells.append("-")
        print(f"| {metric} | " + " | ".join(cells) + f" | {op} {goal:g} |")


def write_data(path, runs, table):
    with open(path, "w", encoding="utf-8") as f:
        f.write("metric\t" + "\t".join(name for name, _ in runs) + "\tunit\n")
        for metric, values, unit in table:
            f.write(f"{metric}\t" + "\t".join(fmt(v, unit) for v in values) + f"\t{unit}\n")


def series(runs):
    """[(label, [ns per depth])]: each backend's library rows, then CPython's
    rows from the first run that has them all."""
    out = []
    for name, rows in runs:
        if all(lib in rows for _, lib, _ in DEPTH_ROWS):
            out.append((f"libcoro, {name} backend", [rows[lib][0] for _, lib, _ in DEPTH_ROWS]))
    for name, rows in runs:
        if all(py in rows for _, _, py in DEPTH_ROWS):
            out.append((f"CPython generator (measured in the {name} run)",
                        [rows[py][0] for _, _, py in DEPTH_ROWS]))
            break
    return out


def write_chart(path, lines):
    width, height = 760, 480
    left, right, top, bottom = 80, 30, 60, 130
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in lines for v in vs]
    # Half a decade of room below the lowest point and above the highest,
    # so that the value labels printed under or over a line stay inside.
    lo = math.floor(math.log10(min(values)) - 0.5)
    hi = math.ceil(math.log10(max(values)) + 0.3)
    if hi == lo:
        hi += 1

    def x_of(i):
        return left + plot_w * (i + 0.5) / len(DEPTH_ROWS)

    def y_of(v):
        return top + plot_h * (hi - math.log10(v)) / (hi - lo)

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="28" text-anchor="middle" font-size="17" '
           'font-weight="bold">Cost of one send against yield-from depth</text>']
    for e in range(lo, hi + 1):  # decades: grid line and label
        y = y_of(10 ** e)
        svg.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   'stroke="#ccc"/>')
        svg.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{10 ** e:g}</text>')
        for m in range(2, 10) if e < hi else ():  # minor ticks
            ym = y_of(m * 10 ** e)
            svg.append(f'<line x1="{left - 4}" y1="{ym:.1f}" x2="{left}" y2="{ym:.1f}" '
                       'stroke="#888"/>')
    svg.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
               'stroke="#333"/>')
    for i, (label, _, _) in enumerate(DEPTH_ROWS):
        svg.append(f'<text x="{x_of(i):.1f}" y="{top + plot_h + 20}" text-anchor="middle">'
                   f'{escape(label)}</text>')
    svg.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h + 44}" text-anchor="middle">'
               'yield-from depth (levels between the driver\'s coroutine and the echo; '
               '0 = plain send)</text>')
    svg.append(f'<text transform="translate(22 {top + plot_h / 2}) rotate(-90)" '
               'text-anchor="middle">ns per send (median, log scale)</text>')
    for k, (label, vs) in enumerate(lines):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(vs))
        svg.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                   'stroke-width="2.5"/>')
        for i, v in enumerate(vs):
            svg.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="4" fill="{colour}"/>')
            dx, dy, anchor = LABEL_PLACES[k % len(LABEL_PLACES)]
            svg.append(f'<text x="{x_of(i) + dx:.1f}" y="{y_of(v) + dy:.1f}" fill="{colour}" '
                       f'font-size="11" text-anchor="{anchor}">{v:.1f}</text>')
        ly = top + plot_h + 66 + 18 * k
        svg.append(f'<line x1="{left}" y1="{ly - 4}" x2="{left + 30}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2.5"/>')
        svg.append(f'<text x="{left + 38}" y="{ly}">{escape(label)}</text>')
    svg.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(svg) + "\n")


def main(argv):
    args, runs, data, chart = list(argv), [], None, None
    while args:
        a = args.pop(0)
        if a in ("--data", "--chart") and args:
            if a == "--data":
                data = args.pop(0)
            else:
                chart = args.pop(0)
        elif "=" in a:
            name, path = a.split("=", 1)
            runs.append((name, read_run(path)))
        else:
            sys.exit(f"report.py: unknown argument {a!r}")
    if not runs or data is None or chart is None:
        sys.exit("usage: report.py --data OUT.tsv --chart OUT.svg BACKEND=RUN.tsv ...")
    table = combine(runs)
    print_tables(runs, table)
    write_data(data, runs, table)
    lines = series(runs)
    if not lines:
        sys.exit("report.py: no run has send_ns and the yield_from rows: no chart")
    write_chart(chart, lines)


if __name__ == "__main__":
    main(sys.argv[1:])
