#!/usr/bin/python3
"""prevoir's scikit-learn anchor for the logistic regression benchmark.

Fits sklearn.linear_model.LogisticRegression(penalty="l2", C=1, tol=1e-8,
max_iter=10000, fit_intercept=True) on the design matrices that `kit dense`
and `kit bank` wrote into --data-dir (the same numbers bench/logreg fits),
--repeats times per solver, and writes one result per data set and solver
to --data-dir/logreg_<data set>_<solver>.json:

  fit_s, fit_s_median   seconds of each fit (fit only: data already in memory)
  n_iter, objective     iterations; sum_i log(1+exp(z_i)) - y_i z_i + ||w||^2 / (2C)
  grad_max_abs          max |gradient| of that objective at the solution
  coef, intercept       the fitted model (bench/logreg compares its own with them)
  sklearn               scikit-learn's version

Data sets: dense32 (dense_1000000x32.{X,y}.f64), dense128
(dense_200000x128.{X,y}.f64), bank (bank_full_design.csv, label y last).

Usage: /usr/bin/python3 sklearn_logreg.py --data-dir DIR --datasets dense32,bank \
           [--solvers newton-cholesky,lbfgs] [--repeats 5]
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

DENSE = {"dense32": (1_000_000, 32), "dense128": (200_000, 128)}


def load(data_dir, name):
    if name in DENSE:
        n, d = DENSE[name]
        stem = os.path.join(data_dir, f"dense_{n}x{d}")
        X = np.fromfile(stem + ".X.f64", dtype="<f8")
        y = np.fromfile(stem + ".y.f64", dtype="<f8")
        if X.size != n * d or y.size != n:
            sys.exit(f"{stem}: want {n}x{d}, have {X.size} values and {y.size} labels")
        return X.reshape(n, d), y
    if name == "bank":
        m = np.loadtxt(os.path.join(data_dir, "bank_full_design.csv"), delimiter=",", skiprows=1)
        return np.ascontiguousarray(m[:, :-1]), np.ascontiguousarray(m[:, -1])
    sys.exit(f"unknown data set {name}")


def objective(X, y, w, b, C):
    z = X @ w + b
    r = 1.0 / (1.0 + np.exp(-z)) - y
    f = float(np.sum(np.logaddexp(0.0, z) - y * z) + w @ w / (2 * C))
    g = max(float(np.abs(X.T @ r + w / C).max()), abs(float(r.sum())))
    return f, g


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--datasets", default="dense32,dense128,bank")
    ap.add_argument("--solvers", default="newton-cholesky,lbfgs")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    for name in a.datasets.split(","):
        X, y = load(a.data_dir, name)
        for solver in a.solvers.split(","):
            times, warned = [], set()
            for _ in range(a.repeats):
                m = LogisticRegression(penalty="l2", C=1.0, solver=solver, tol=1e-8, max_iter=10000)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    t = time.perf_counter()
                    m.fit(X, y)
                    times.append(time.perf_counter() - t)
                warned |= {str(c.message).splitlines()[0] for c in caught}
            w, b = m.coef_.ravel(), float(m.intercept_[0])
            f, g = objective(X, y, w, b, 1.0)
            res = {"dataset": name, "n": X.shape[0], "d": X.shape[1], "solver": solver,
                   "sklearn": sklearn.__version__, "numpy": np.__version__,
                   "fit_s": [round(t, 4) for t in times], "fit_s_median": round(statistics.median(times), 4),
                   "n_iter": int(m.n_iter_[0]), "objective": f, "grad_max_abs": g,
                   "warnings": sorted(warned), "intercept": b, "coef": w.tolist()}
            with open(os.path.join(a.data_dir, f"logreg_{name}_{solver}.json"), "w") as out:
                json.dump(res, out, indent=1)
            print(json.dumps({k: res[k] for k in ("dataset", "solver", "fit_s_median", "n_iter", "grad_max_abs")}), flush=True)


if __name__ == "__main__":
    main()
