#!/usr/bin/python3
"""Tables for the multi-fidelity benchmark (bench/pruners/run) from the JSON lines of dial_bench_pruners and
optuna_side.py: median (IQR) regret at each budget, the verdict against Optuna's TPE + Hyperband, and the
compute each method needs to reach the final regret of running every trial to the end.

Regret at budget B (shared/docs/benchmark-functions.md): the best f(x, 100) − f* among trials that reached
z = 100 within cumulative cost B, where a trial costs (last z reached) / 100. A run with no full trial by B
has infinite regret there (printed as ∞; it still takes part in the median).

  compare.py results.jsonl --budgets 10,25,50,100 --reference optuna:tpe+hyperband --baseline tpe
"""
import argparse
import collections
import json
import math
import statistics


def regret_curve(line, budgets):
    """Regret at each budget for one run."""
    out, spent, best, i = [], 0.0, math.inf, 0
    trials = line["trials"]
    for b in budgets:
        while i < len(trials) and spent + trials[i][0] / 100.0 <= b + 1e-9:
            spent += trials[i][0] / 100.0
            if trials[i][1] is not None:
                best = min(best, trials[i][1])
            i += 1
        out.append(best - line["optimum"])
    return out


def quantile(values, q):
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    if s[lo] == s[hi]:
        return s[lo]
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def fmt(v):
    if math.isinf(v):
        return "∞"
    return f"{v:.3g}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--budgets", default="10,25,50,100")
    parser.add_argument("--reference", default="optuna:tpe+hyperband")
    parser.add_argument("--baseline", default="tpe", help="the no-pruning method of each side")
    args = parser.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    runs = collections.defaultdict(list)
    for text in open(args.results):
        text = text.strip()
        if text:
            line = json.loads(text)
            runs[f'{line["side"]}:{line["method"]}'].append(line)
    if not runs:
        raise SystemExit("compare.py: no results")

    medians = {}
    print(f"### MF-Hartmann6 (bias {next(iter(runs.values()))[0]['bias']}): median (IQR) regret at budget "
          + " / ".join(f"{b:g}" for b in budgets) + " full evaluations\n")
    print("| method | seeds | " + " | ".join(f"B={b:g}" for b in budgets) + " | trials per run | seconds per run |")
    print("|---|---|" + "---|" * len(budgets) + "---|---|")
    for key in sorted(runs):
        curves = [regret_curve(line, budgets) for line in runs[key]]
        cols = []
        meds = []
        for j in range(len(budgets)):
            vals = [c[j] for c in curves]
            med = quantile(vals, 0.5)
            meds.append(med)
            cols.append(f"{fmt(med)} ({fmt(quantile(vals, 0.25))}–{fmt(quantile(vals, 0.75))})")
        medians[key] = meds
        n_trials = statistics.median(len(line["trials"]) for line in runs[key])
        seconds = statistics.median(line["seconds"] for line in runs[key])
        print(f"| {key} | {len(curves)} | " + " | ".join(cols) + f" | {n_trials:g} | {seconds:.3g} |")

    if args.reference in medians:
        ref = medians[args.reference]
        dial_keys = [k for k in medians if k.startswith("dial:")]
        print(f"\n### Verdict: dial's best method at each budget against {args.reference}\n")
        print("| budget | dial's best method | its median regret | reference | ratio (reference / dial) |")
        print("|---|---|---|---|---|")
        for j, b in enumerate(budgets):
            if not dial_keys:
                break
            best = min(dial_keys, key=lambda k: medians[k][j])
            d, r = medians[best][j], ref[j]
            ratio = r / d if d > 0 else math.inf
            print(f"| {b:g} | {best} | {fmt(d)} | {fmt(r)} | {ratio:.2f}× |")

    # Compute saved: the smallest budget at which a method's median regret is at most the baseline's
    # median regret at the largest budget (running every trial to the end).
    fine = [b / 2 for b in range(1, int(2 * budgets[-1]) + 1)]
    print(f"\n### Compute to reach the final regret of `{args.baseline}` without pruning (same side, budget "
          f"{budgets[-1]:g})\n")
    print("| method | budget needed | saved |")
    print("|---|---|---|")
    for side in ("dial", "optuna"):
        base_key = f"{side}:{args.baseline}"
        if base_key not in runs:
            continue
        target = medians[base_key][-1]
        for key in sorted(k for k in runs if k.startswith(side + ":")):
            curves = [regret_curve(line, fine) for line in runs[key]]
            med = [quantile([c[j] for c in curves], 0.5) for j in range(len(fine))]
            need = next((fine[j] for j in range(len(fine)) if med[j] <= target), None)
            if need is None:
                print(f"| {key} | not reached by {budgets[-1]:g} | — |")
            else:
                print(f"| {key} | {need:g} | {budgets[-1] / need:.2f}× |")


if __name__ == "__main__":
    main()
