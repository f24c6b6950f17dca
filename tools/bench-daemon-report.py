#!/usr/bin/env python3
"""Summarise a tools/bench-daemon run: the engine's start events and
conlink's -v log in, figures and ratios to the DESIGN.md targets out."""

import argparse
import datetime
import math
import re
import sys

TARGET_P50_MS = 20.0
TARGET_ALL_MS = 1000.0
TARGET_RSS_MB = 15.0

# tracing's default format without target: "<RFC 3339 UTC> <LEVEL> <message>".
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z\s+([A-Z]+)\s+(.*)$")
DURATION = r"([0-9.]+)(ns|µs|us|ms|s)"
WIRED = re.compile(rf"^(\S+): (\d+) of (\d+) links in {DURATION}"
                   rf"(?: \((?:pid via (\S+) {DURATION}, )?wiring {DURATION}\))?$")
UNIT_MS = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}


def utc_seconds(stamp):
    base, _, frac = stamp.partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
    return t + (float("0." + frac) if frac else 0.0)


def percentile(sorted_values, p):
    """Nearest rank, as the daemon's own figure."""
    if not sorted_values:
        return float("nan")
    rank = math.ceil(p / 100.0 * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def ratio(value, target):
    return f"{value / target:.2f}× target" if target else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--rss-kb", type=int, required=True)
    ap.add_argument("--hwm-kb", type=int, required=True)
    ap.add_argument("--cpu-ms", type=int, required=True)
    ap.add_argument("--runq-ms", type=int, default=None)
    a = ap.parse_args()

    starts = {}  # container name -> engine's start time (s)
    with open(a.events) as f:
        for line in f:
            nano, _, name = line.strip().partition(" ")
            if nano.isdigit() and name:
                # A restarted container keeps its first start (none expected).
                starts.setdefault(name, int(nano) / 1e9)

    wired = {}  # name -> (log time s, conlink's own ms, links made, links wanted)
    milestone = None
    errors = []
    with open(a.log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LOG_LINE.match(line.rstrip("\n"))
            if not m:
                continue
            when, level, msg = utc_seconds(m.group(1)), m.group(2), m.group(3)
            if level in ("ERROR", "WARN"):
                errors.append(msg)
            w = WIRED.match(msg)
            if w and w.group(1) in starts:
                took = float(w.group(4)) * UNIT_MS[w.group(5)]
                how = w.group(6)
                lookup = float(w.group(7)) * UNIT_MS[w.group(8)] if how else None
                wiring = float(w.group(9)) * UNIT_MS[w.group(10)] if w.group(9) else None
                wired[w.group(1)] = (when, took, int(w.group(2)), int(w.group(3)), wiring,
                                     how, lookup)
            elif msg == "All links connected" and milestone is None:
                milestone = when

    if not starts:
        sys.exit("no start events of the node service were recorded")
    missing = sorted(set(starts) - set(wired))
    made = sum(v[2] for v in wired.values())
    wanted = sum(v[3] for v in wired.values())
    first_start, last_start = min(starts.values()), max(starts.values())

    own = sorted(v[1] for v in wired.values())
    wiring = sorted(v[4] for v in wired.values() if v[4] is not None)
    engine = sorted((v[0] - starts[n]) * 1e3 for n, v in wired.items())
    last_wired = max((v[0] for v in wired.values()), default=float("nan"))
    all_ms = (last_wired - last_start) * 1e3

    print(f"nodes started:   {len(starts)} of {a.nodes} (engine: first → last start event "
          f"{last_start - first_start:.2f} s)")
    print(f"nodes wired:     {len(wired)}; links {made} of {wanted}"
          + (f"; NOT wired: {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}"
             if missing else ""))
    print("start → links configured, per container (ms):")
    rows = [("conlink (event received → done)", own),
            ("engine event time → conlink's log", engine)]
    lookups = sorted(v[6] for v in wired.values() if v[6] is not None)
    if lookups:
        rows.append(("of which finding the pid", lookups))
    if wiring:
        rows.append(("of which wiring the links", wiring))
    for label, values in rows:
        if not values:
            continue
        p50, p90 = percentile(values, 50), percentile(values, 90)
        print(f"  {label:35} p50 {p50:7.2f}  p90 {p90:7.2f}  max {values[-1]:7.2f}"
              f"   p50 {ratio(p50, TARGET_P50_MS)} (≤ {TARGET_P50_MS:.0f} ms)")
    hows = {}
    for v in wired.values():
        if v[5]:
            hows[v[5]] = hows.get(v[5], 0) + 1
    if hows:
        print("  pid found via: " + ", ".join(f"{h} {n}" for h, n in sorted(hows.items())))
    print(f"last start event → last container configured: {all_ms:.1f} ms "
          f"({ratio(all_ms, TARGET_ALL_MS)}, ≤ {TARGET_ALL_MS:.0f} ms)")
    if milestone is not None:
        print(f"\"All links connected\" logged {(milestone - first_start) * 1e3:.1f} ms after the "
              f"first start event, {(milestone - last_start) * 1e3:+.1f} ms from the last "
              "(counts replicas known at that moment, like 2.x)")
    else:
        print("\"All links connected\" was NOT logged")
    rss_mb, hwm_mb = a.rss_kb / 1024, a.hwm_kb / 1024
    print(f"conlink RSS idle: {rss_mb:.1f} MB ({ratio(rss_mb, TARGET_RSS_MB)}, ≤ "
          f"{TARGET_RSS_MB:.0f} MB); peak (VmHWM) {hwm_mb:.1f} MB")
    print(f"conlink CPU time while wiring: {a.cpu_ms} ms ({a.cpu_ms / max(len(wired), 1):.1f} ms "
          "per container)")
    if a.runq_ms is not None:
        print(f"conlink runnable but waiting for a CPU: {a.runq_ms} ms "
              f"({a.runq_ms / max(len(wired), 1):.1f} ms per container; threads alive at the end)")
    if errors:
        print(f"conlink logged {len(errors)} warnings/errors, first: {errors[0]}")


if __name__ == "__main__":
    main()
