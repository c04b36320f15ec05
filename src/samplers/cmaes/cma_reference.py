#!/usr/bin/python3
"""Prints the reference numbers of cma_es_test.cc's CmaEsTest.TwoGenerationsMatchTheCmaesPackage: two
generations of CMA-ES told fixed solutions, run by the `cmaes` package (Optuna's backend; cmaes 0.9.1 is in
/usr/lib/python3/dist-packages). Rerun to check: /usr/bin/python3 cma_reference.py
"""
import math

import numpy as np
from cmaes import CMA

DIM, POPSIZE = 3, 7
OPTIMUM = np.array([0.3, 0.6, 0.2])


def solutions(generation):
    # Fixed, non-random candidates: a spiral around the mean, different each generation.
    out = []
    for i in range(POPSIZE):
        x = np.array([0.5 + 0.15 * math.cos(i + generation), 0.5 + 0.12 * math.sin(2 * i + generation),
                      0.5 + 0.1 * math.cos(3 * i + 0.5 * generation)])
        out.append((x, float(np.sum((x - OPTIMUM) ** 2))))
    return out


def main():
    cma = CMA(mean=np.full(DIM, 0.5), sigma=0.2, population_size=POPSIZE, seed=1)
    np.set_printoptions(precision=17)
    for g in range(2):
        cma.tell(solutions(g))
        # cmaes tests h_sigma with exponent 2(g + 1) after counting the generation; the tutorial before. Both
        # must give h_sigma = 1 here for the numbers to be comparable.
        norm = np.linalg.norm(cma._p_sigma)
        for k in (cma.generation, cma.generation + 1):
            assert norm / math.sqrt(1 - (1 - cma._c_sigma) ** (2 * k)) < (1.4 + 2 / (DIM + 1)) * cma._chi_n
        print(f"generation {g + 1}")
        print("mean", repr(cma._mean.tolist()))
        print("sigma", repr(cma._sigma))
        print("C", repr(cma._C.flatten().tolist()))
        print("p_sigma", repr(cma._p_sigma.tolist()))
        print("p_c", repr(cma._pc.tolist()))
    print("weights", repr(cma._weights.tolist()))
    print("mu_eff c_sigma d_sigma c_c c1 cmu", cma._mu_eff, cma._c_sigma, cma._d_sigma, cma._cc, cma._c1, cma._cmu)


if __name__ == "__main__":
    main()
