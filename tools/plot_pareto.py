#!/usr/bin/env python3
"""Plot the Pareto front of an `xbarsim search` run.

    /usr/bin/python3 tools/plot_pareto.py SEARCH_DIR [--x edap] [--out front.png]

Reads SEARCH_DIR/evaluated.csv and pareto.csv (and summary.json when present) and draws every
feasible candidate (grey), the front (blue, joined) and the baseline (red star), with top-1
accuracy on the y axis and a cost (edap, energy_uj, latency_us or area_mm2; log scale) on x.
Test-set accuracies of the final re-evaluation, when summary.json has them, are drawn as error
bars (95 % CI) on the front members they belong to.
"""
import argparse
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

COSTS = {"edap": "EDAP (µJ·µs·mm²)", "energy_uj": "energy per image (µJ)", "latency_us": "latency per image (µs)",
         "area_mm2": "area (mm²)"}


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("search_dir")
    ap.add_argument("--x", default="edap", choices=sorted(COSTS))
    ap.add_argument("--out", default=None, help="PNG file (default: SEARCH_DIR/pareto.png)")
    a = ap.parse_args()
    ev_path = os.path.join(a.search_dir, "evaluated.csv")
    front_path = os.path.join(a.search_dir, "pareto.csv")
    for p in (ev_path, front_path):
        if not os.path.exists(p):
            sys.exit(f"plot_pareto: {p} not found (is {a.search_dir} an xbarsim search output directory?)")
    rows = read_rows(ev_path)
    front = read_rows(front_path)
    if not rows:
        sys.exit(f"plot_pareto: {ev_path} has no candidates")
    feasible = [r for r in rows if r["feasible"] == "1"]
    baseline = rows[0]  # the search evaluates the baseline first
    x = a.x

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter([float(r[x]) for r in feasible], [100 * float(r["accuracy"]) for r in feasible], s=12, c="0.7",
               label=f"feasible candidates ({len(feasible)} of {len(rows)})")
    front = sorted(front, key=lambda r: float(r[x]))
    ax.plot([float(r[x]) for r in front], [100 * float(r["accuracy"]) for r in front], "o-", c="tab:blue", ms=5,
            label=f"Pareto front ({len(front)})")
    ax.plot([float(baseline[x])], [100 * float(baseline["accuracy"])], "*", c="tab:red", ms=14, label="baseline")

    summary_path = os.path.join(a.search_dir, "summary.json")
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
        cost_key = {"edap": "edap", "energy_uj": "energy_uj", "latency_us": "latency_us", "area_mm2": "area_mm2"}[x]
        pts = [p for p in summary.get("points", []) if "test" in p]
        if pts:
            xs = [p["cost"][cost_key] for p in pts]
            ys = [100 * p["test"]["mean"] for p in pts]
            lo = [100 * (p["test"]["mean"] - p["test"]["ci95"][0]) for p in pts]
            hi = [100 * (p["test"]["ci95"][1] - p["test"]["mean"]) for p in pts]
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="s", c="tab:green", ms=4, capsize=3,
                        label="test set, mean and 95 % CI")
    ax.set_xscale("log")
    ax.set_xlabel(COSTS[x])
    ax.set_ylabel("top-1 accuracy (%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("xbarsim co-search: " + os.path.basename(os.path.normpath(a.search_dir)))
    out = a.out or os.path.join(a.search_dir, "pareto.png")
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    print(out)


if __name__ == "__main__":
    main()
