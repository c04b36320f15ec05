#!/usr/bin/python3
"""End-to-end check: dial's WER/CER counts equal NIST sclite's (Debian sctk) per utterance, per speaker, total.

Usage: speech_sclite_compare.py SPEECH_SCORE_TOOL WORKDIR
Feeds the same references and hypotheses to `sclite -i rm -o pra rsum` and to dial's scorer (through the
speech_score_tool test helper) and compares C/S/D/I. Cases: empty hypotheses, empty references, insertions at
both ends, repeated words, case differences, sclite tie cases, 300 seeded random perturbations and 400 seeded
random strings over a 3-word vocabulary (dense in equal-cost alignments).
"""
import os
import random
import re
import shutil
import subprocess
import sys

SCLITE_CANDIDATES = ["/usr/lib/sctk/bin/sclite", shutil.which("sclite") or ""]
VOCAB = "the a cat dog sat on mat and it was big red one two three".split()


def find_sclite():
    for c in SCLITE_CANDIDATES:
        if c and os.access(c, os.X_OK):
            return c
    return None


def hand_cases():
    return [
        ("a b c", ""),                       # empty hypothesis
        ("", "x y"),                         # empty reference
        ("", ""),                            # both empty
        ("b c", "a b c d"),                  # insertions at both ends
        ("a a b", "a b"),                    # repeated word in the reference
        ("a b", "a a a b b"),                # repeated words in the hypothesis
        ("a b c d", "b c d e"),              # shift: del + ins rather than four subs
        ("a b c", "x y z"),                  # 3 subs tie with 2 del + 2 ins
        ("The Cat", "the CAT"),              # sclite compares case-insensitively, dial lower-cases
        ("one two three four five", "five four three two one"),
        ("dog dog dog", "dog"),
        ("sat", "sat sat sat"),
    ]


def perturb(rng, words):
    out = []
    for w in words:
        r = rng.random()
        if r < 0.08:
            continue                                   # deletion
        if r < 0.16:
            out.append(rng.choice(VOCAB))              # substitution (sometimes the same word)
        elif r < 0.22:
            out.extend([w, w])                         # repetition
        else:
            out.append(w)
        if rng.random() < 0.06:
            out.append(rng.choice(VOCAB))              # insertion
    if rng.random() < 0.1:
        out.insert(0, rng.choice(VOCAB))               # insertion at the start
    if rng.random() < 0.05:
        out = []                                       # whole hypothesis lost
    return out


def build_corpus(seed=20261124, n_random=300, n_dense=400):
    rng = random.Random(seed)
    speakers = ["s0", "s1", "s2", "s3", "sp_a"]
    pairs = []
    for k, (r, h) in enumerate(hand_cases()):
        pairs.append((f"{speakers[k % len(speakers)]}-h{k:03d}", r.split(), h.split()))
    for k in range(n_random):
        ref = [rng.choice(VOCAB) for _ in range(rng.randint(0, 15))]
        pairs.append((f"{rng.choice(speakers)}-r{k:03d}", ref, perturb(rng, ref)))
    # Unrelated strings over a 3-word vocabulary: many equal-cost alignments, so these pin down the
    # tie-breaking order (insertion before deletion, both after the diagonal) that plain perturbations miss.
    for k in range(n_dense):
        ref = [rng.choice("a b c".split()) for _ in range(rng.randint(0, 20))]
        hyp = [rng.choice("a b c".split()) for _ in range(rng.randint(0, 20))]
        pairs.append((f"{rng.choice(speakers)}-t{k:03d}", ref, hyp))
    return pairs


def write_trn(path, pairs, side, chars=False):
    with open(path, "w") as f:
        for uid, ref, hyp in pairs:
            words = ref if side == "ref" else hyp
            text = " ".join("".join(words)) if chars else " ".join(words)
            f.write(f"{text} ({uid})\n")


def run_sclite(sclite, ref, hyp):
    out = subprocess.run([sclite, "-r", ref, "trn", "-h", hyp, "trn", "-i", "rm", "-o", "pra", "rsum", "stdout"],
                         capture_output=True, text=True, check=True).stdout
    utts, groups, total = {}, {}, None
    cur = None
    for line in out.splitlines():
        m = re.match(r"^id: \((.*)\)$", line)
        if m:
            cur = m.group(1)
        m = re.match(r"^Scores: \(#C #S #D #I\)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", line)
        if m:
            utts[cur] = tuple(int(x) for x in m.groups())
        m = re.match(r"^\s*\|\s*(\S+)\s*\|\s*(\d+)\s+(\d+)\s*\|\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\d+\s*\|", line)
        if m:
            name = m.group(1)
            snt, wrd, c, s, d, i = (int(x) for x in m.groups()[1:])
            row = (snt, c + s + d, c, s, d, i)
            if wrd != c + s + d:
                raise SystemExit(f"sclite row {name}: #Wrd {wrd} != C+S+D")
            if name == "Sum":
                total = row
            else:
                groups[name] = row
    return utts, groups, total


def run_dial(tool, ref, hyp, extra):
    out = subprocess.run([tool, ref, hyp] + extra, capture_output=True, text=True, check=True).stdout
    utts, groups, total = {}, {}, None
    for line in out.splitlines():
        kind, name, n_utts, n, c, s, d, i = line.split()
        vals = tuple(int(x) for x in (n_utts, n, c, s, d, i))
        if kind == "UTT":
            utts[name] = vals[2:]
        elif kind == "GROUP":
            groups[name] = vals
        else:
            total = vals
    return utts, groups, total


def compare(label, sc, dl):
    failures = 0
    su, sg, st = sc
    du, dg, dt = dl
    if set(su) != set(du):
        print(f"{label}: utterance sets differ: {sorted(set(su) ^ set(du))[:5]}")
        return 1
    for uid in sorted(su):
        if su[uid] != du[uid]:
            failures += 1
            if failures <= 10:
                print(f"{label}: {uid}: sclite C/S/D/I {su[uid]} dial {du[uid]}")
    if sg != dg:
        failures += 1
        print(f"{label}: per-speaker counts differ:\n  sclite {sg}\n  dial   {dg}")
    if st != dt:
        failures += 1
        print(f"{label}: totals differ: sclite {st} dial {dt}")
    print(f"{label}: {len(su)} utterances, {len(sg)} speakers, total (snt, N, C, S, D, I) = {dt}: "
          f"{'OK' if failures == 0 else 'MISMATCH'}")
    return failures


def main():
    tool, work = sys.argv[1], sys.argv[2]
    sclite = find_sclite()
    if sclite is None:
        print("sclite not installed (Debian package sctk): skipping")
        return 77
    os.makedirs(work, exist_ok=True)
    pairs = build_corpus()
    paths = {k: os.path.join(work, k) for k in ("ref.trn", "hyp.trn", "ref_char.trn", "hyp_char.trn", "utt2spk")}
    write_trn(paths["ref.trn"], pairs, "ref")
    write_trn(paths["hyp.trn"], pairs, "hyp")
    write_trn(paths["ref_char.trn"], pairs, "ref", chars=True)
    write_trn(paths["hyp_char.trn"], pairs, "hyp", chars=True)
    with open(paths["utt2spk"], "w") as f:
        for uid, _, _ in pairs:
            f.write(f"{uid} {uid.split('-')[0]}\n")

    failures = 0
    word_sc = run_sclite(sclite, paths["ref.trn"], paths["hyp.trn"])
    failures += compare("WER (sclite speaker rule)", word_sc, run_dial(tool, paths["ref.trn"], paths["hyp.trn"], []))
    failures += compare("WER (utt2spk)", word_sc,
                        run_dial(tool, paths["ref.trn"], paths["hyp.trn"], ["--utt2spk", paths["utt2spk"]]))
    char_sc = run_sclite(sclite, paths["ref_char.trn"], paths["hyp_char.trn"])
    failures += compare("CER", char_sc, run_dial(tool, paths["ref.trn"], paths["hyp.trn"], ["--char"]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
