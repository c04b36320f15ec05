#!/usr/bin/python3
"""Optuna 3.1's SuccessiveHalvingPruner and HyperbandPruner decisions on fixed learning curves, printed as the C++
tables that src/pruners/successive_halving_test.cc and hyperband_test.cc compare dial against.

  /usr/bin/python3 tests/python/pruner_reference.py

Each scenario runs its trials one after another in an in-memory Optuna study named "xcheck". Trial n's curve is
a / (step + 1) + b with integers a, b (and a reporting stride) drawn from the LCG below, so both languages compute
bit-identical values. Printed per trial: the step it was pruned at (-1: it completed) and how many
completed_rung_<k> attributes it holds. Also printed: Hyperband's bracket of trials 0..99 of "xcheck".
"""
import warnings

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.simplefilter("ignore")


class Lcg:
    def __init__(self, seed):
        self.x = seed

    def next(self):
        self.x = (self.x * 1103515245 + 12345) % (1 << 31)
        return self.x


def curves(seed, n_trials, n_steps, max_stride):
    rng = Lcg(seed)
    out = []
    for _ in range(n_trials):
        a = rng.next() % 1000
        b = rng.next() % 100
        stride = 1 + rng.next() % max_stride
        out.append([(s, a / (s + 1) + b) for s in range(0, n_steps, stride)])
    return out


def run(name, pruner, direction, seed, n_trials, n_steps, max_stride):
    study = optuna.create_study(study_name="xcheck", direction=direction, pruner=pruner)
    pruned_at = []
    for curve in curves(seed, n_trials, n_steps, max_stride):
        trial = study.ask()
        at = -1
        for step, value in curve:
            trial.report(value, step)
            if trial.should_prune():
                at = step
                break
        if at >= 0:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, curve[-1][1])
        pruned_at.append(at)
    rungs = []
    for t in study.get_trials():
        k = 0
        while "completed_rung_{}".format(k) in t.system_attrs:
            k += 1
        rungs.append(k)
    print("// {}".format(name))
    print("{{{}}},".format(", ".join(map(str, pruned_at))))
    print("{{{}}},".format(", ".join(map(str, rungs))))


SH = optuna.pruners.SuccessiveHalvingPruner
HB = optuna.pruners.HyperbandPruner
run("sh_r1_eta3", SH(min_resource=1, reduction_factor=3), "minimize", 1, 40, 30, 1)
run("sh_r2_eta2_s1_boot3_max", SH(min_resource=2, reduction_factor=2, min_early_stopping_rate=1, bootstrap_count=3),
    "maximize", 2, 40, 30, 1)
run("sh_auto_eta4", SH(reduction_factor=4), "minimize", 3, 40, 250, 1)
run("sh_r1_eta2_sparse", SH(min_resource=1, reduction_factor=2), "minimize", 4, 40, 30, 4)
run("hb_r1_R27_eta3", HB(min_resource=1, max_resource=27, reduction_factor=3), "minimize", 5, 60, 27, 1)
run("hb_r1_auto_eta2_max", HB(min_resource=1, reduction_factor=2), "maximize", 6, 60, 16, 1)

pruner = HB(min_resource=1, max_resource=27, reduction_factor=3)
study = optuna.create_study(study_name="xcheck", pruner=pruner)
pruner._try_initialization(study)
print("// brackets of xcheck_0..99 with (1, 27, 3): budgets {}".format(pruner._trial_allocation_budgets))


class _T:
    def __init__(self, n):
        self.number = n


print("{{{}}},".format(", ".join(str(pruner._get_bracket_id(study, _T(n))) for n in range(100))))
