#!/usr/bin/python3
"""Tables for the sampler benchmark from the JSON lines of dial_bench_samplers and optuna_side.py.

  compare.py results.jsonl [--budgets 25,50,100,200] [--auto auto] [--tpe tpe]

Prints, as Markdown: median (IQR) simple regret per problem, method and budget; the average rank of each
method per budget; the verdict for dial's `auto` against the best of Optuna's methods per problem; dial's TPE
against Optuna's TPE (with a one-sided Mann-Whitney test, since the same algorithm with other random draws
differs by chance); and ask() times with the ratio.
"""
import argparse
import collections
import json
import math
import statistics


def quantile(sorted_values, q):
    if not sorted_values:
        return math.nan
    pos = q * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.2e}"
    return f"{v:.3g}"


def mann_whitney_p_greater(a, b):
    """One-sided p-value that values in `a` tend to be greater than in `b` (normal approximation, ties
    corrected). Small p: `a` is worse (larger regret) than `b`."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return math.nan
    combined = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(combined)
    i, tie_term = 0, 0.0
    while i < len(combined):
        j = i
        while j + 1 < len(combined) and combined[j + 1][0] == combined[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        tie_term += t ** 3 - t
        i = j + 1
    r1 = sum(r for r, (_, g) in zip(ranks, combined) if g == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if var <= 0:
        return 0.5
    z = (u1 - n1 * n2 / 2 - 0.5) / math.sqrt(var)  # continuity correction
    return 0.5 * math.erfc(z / math.sqrt(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--budgets", default="25,50,100,200")
    ap.add_argument("--auto", default="auto", help="dial method compared with the best of Optuna's")
    ap.add_argument("--verdict-budgets", default="100,200")
    ap.add_argument("--tpe", default="tpe", help="dial method compared with Optuna's tpe")
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]

    runs = collections.defaultdict(list)  # (problem, side:method) → [regret curve]
    seconds = collections.defaultdict(list)
    choices = collections.defaultdict(collections.Counter)
    ask = {}
    problems, methods = [], []
    for path in args.files:
        with open(path) as f:
            for raw in f:
                raw = raw.strip()
                if not raw.startswith("{"):
                    continue
                line = json.loads(raw)
                if "regret" in line:
                    key = f"{line['side']}:{line['method']}"
                    runs[(line["problem"], key)].append(line["regret"])
                    seconds[key].append(line["seconds"])
                    choices[key][line.get("sampler", "")] += 1
                    if line["problem"] not in problems:
                        problems.append(line["problem"])
                    if key not in methods:
                        methods.append(key)
                elif "median_seconds" in line:
                    ask[(f"{line['side']}:{line['method']}", line["trials"])] = line["median_seconds"]
    methods.sort(key=lambda m: (not m.startswith("optuna"), m))
    budgets = [b for b in budgets if any(len(c) >= b for curves in runs.values() for c in curves)]

    def at(problem, method, budget):
        return sorted(c[budget - 1] for c in runs.get((problem, method), []) if len(c) >= budget)

    def med(problem, method, budget):
        v = at(problem, method, budget)
        return statistics.median(v) if v else math.nan

    seeds = max((len(v) for v in runs.values()), default=0)
    print(f"## Median (IQR) simple regret, {seeds} seeds\n")
    for b in budgets:
        print(f"### after {b} evaluations\n")
        print("| problem | " + " | ".join(methods) + " |")
        print("|---" * (len(methods) + 1) + "|")
        for p in problems:
            cells = []
            best = min((med(p, m, b) for m in methods if not math.isnan(med(p, m, b))), default=math.nan)
            for m in methods:
                v = at(p, m, b)
                if not v:
                    cells.append("–")
                    continue
                c = f"{fmt(statistics.median(v))} ({fmt(quantile(v, .25))}–{fmt(quantile(v, .75))})"
                cells.append(f"**{c}**" if statistics.median(v) == best else c)
            print(f"| {p} | " + " | ".join(cells) + " |")
        print()

    print("## Average rank (1 = best median regret; mean over problems)\n")
    print("| method | " + " | ".join(f"@{b}" for b in budgets) + " | median seconds per run |")
    print("|---" * (len(budgets) + 2) + "|")
    for m in methods:
        row = []
        for b in budgets:
            ranks = []
            for p in problems:
                meds = {mm: med(p, mm, b) for mm in methods if not math.isnan(med(p, mm, b))}
                if m in meds:
                    ranks.append(1 + sum(1 for v in meds.values() if v < meds[m]) +
                                 0.5 * (sum(1 for v in meds.values() if v == meds[m]) - 1))
            row.append(f"{statistics.mean(ranks):.2f}" if ranks else "–")
        secs = statistics.median(seconds[m]) if seconds[m] else math.nan
        print(f"| {m} | " + " | ".join(row) + f" | {fmt(secs)} |")
    print()
    for m in methods:
        if m.startswith("dial:") and len(choices[m]) > 1:
            print(f"- {m} chose: " + ", ".join(f"{k} ×{v}" for k, v in sorted(choices[m].items())))
    print()

    optuna_methods = [m for m in methods if m.startswith("optuna:")]
    auto = f"dial:{args.auto}"
    if auto in methods and optuna_methods:
        vb = [int(b) for b in args.verdict_budgets.split(",") if int(b) in budgets]
        print(f"## Verdict: {auto} against the best of Optuna's {len(optuna_methods)} methods (median regret)\n")
        print("| problem | " + " | ".join(f"@{b}: dial / best Optuna (which)" for b in vb) + " |")
        print("|---" * (len(vb) + 1) + "|")
        wins = collections.Counter()
        for p in problems:
            cells = []
            for b in vb:
                ours = med(p, auto, b)
                best_m = min(optuna_methods, key=lambda m: med(p, m, b))
                theirs = med(p, best_m, b)
                win = ours < theirs
                wins[b] += win
                cells.append(f"{'win' if win else 'LOSS'} {fmt(ours)} / {fmt(theirs)} ({best_m.split(':')[1]})")
            print(f"| {p} | " + " | ".join(cells) + " |")
        print()
        for b in vb:
            print(f"- at {b} evaluations: {auto} wins on {wins[b]} of {len(problems)} problems (target ≥ 10 of 13)")
        print()

    tpe, otpe = f"dial:{args.tpe}", "optuna:tpe"
    if tpe in methods and otpe in methods:
        print(f"## {tpe} against {otpe}\n")
        print("One-sided Mann-Whitney p-value that dial's regret is larger (small p = dial worse, p < 0.05 flagged).\n")
        print("| problem | " + " | ".join(f"@{b} dial / Optuna (p)" for b in budgets) + " |")
        print("|---" * (len(budgets) + 1) + "|")
        flagged, not_worse_median = 0, collections.Counter()
        for p in problems:
            cells = []
            for b in budgets:
                ours, theirs = at(p, tpe, b), at(p, otpe, b)
                pv = mann_whitney_p_greater(ours, theirs)
                bad = pv < 0.05
                flagged += bad
                not_worse_median[b] += statistics.median(ours) <= statistics.median(theirs)
                cells.append(f"{fmt(statistics.median(ours))} / {fmt(statistics.median(theirs))} "
                             f"({pv:.2f}{' WORSE' if bad else ''})")
            print(f"| {p} | " + " | ".join(cells) + " |")
        print()
        for b in budgets:
            print(f"- at {b}: dial's median ≤ Optuna's on {not_worse_median[b]} of {len(problems)} problems")
        print(f"- significantly worse (p < 0.05) in {flagged} of {len(problems) * len(budgets)} problem-budget cells\n")

    if ask:
        counts = sorted({n for _, n in ask})
        names = sorted({m for m, _ in ask}, key=lambda m: (not m.startswith("optuna"), m))
        print("## ask() time (median seconds: one ask() plus suggesting 6 floats, study prefilled with N trials)\n")
        print("| method | " + " | ".join(f"N = {n}" for n in counts) + " |")
        print("|---" * (len(counts) + 1) + "|")
        for m in names:
            print(f"| {m} | " + " | ".join(fmt(ask.get((m, n))) for n in counts) + " |")
        ref = "optuna:tpe"
        for m in names:
            if m.startswith("dial:") and any((ref, n) in ask and (m, n) in ask for n in counts):
                ratios = [f"N = {n}: {ask[(ref, n)] / ask[(m, n)]:.0f}×" for n in counts
                          if (ref, n) in ask and (m, n) in ask]
                print(f"- {m} is faster than {ref} by " + ", ".join(ratios))
        print()


if __name__ == "__main__":
    main()
