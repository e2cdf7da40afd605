#!/usr/bin/python3
"""prevoir's scikit-learn anchor for the demand benchmark.

Reads the demand feature tables a fit trains on, exported by `prevoir
features export` (CSV: product_id, warehouse, step, the features, the label
last; one --table each, stacked), builds the
design prevoir's count model fits (a null imputed with the column mean plus
a <name>_missing column when the column has nulls; the calendar columns
left out as `train --task demand` leaves them out on origins spanning less
than a year; constant columns dropped; standardised with the mean and
population standard deviation), and fits
sklearn.linear_model.PoissonRegressor(alpha=1/(C*n), solver="newton-cholesky")
on it: the same objective as prevoir's FitPoisson, C * sum(mu - y log mu) +
||w||^2 / 2, divided by C*n. Prints one JSON object:

  rows, columns, fit_s (the fit only), n_iter, mean_deviance, sklearn

Usage: /usr/bin/python3 sklearn_poisson.py --table a.csv [--table b.csv] [--c 1]
"""
import argparse
import json
import time

import numpy as np
import sklearn
from sklearn.linear_model import PoissonRegressor

CALENDAR = {"period_of_year", "month", "season_sin", "season_cos"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", required=True, action="append")
    ap.add_argument("--c", type=float, default=1.0)
    a = ap.parse_args()
    with open(a.table[0]) as f:
        header = f.readline().strip().split(",")
    m = np.vstack([np.genfromtxt(t, delimiter=",", skip_header=1, usecols=range(3, len(header)), filling_values=np.nan)
                   for t in a.table])
    names, X, y = header[3:-1], m[:, :-1], m[:, -1]
    cols = []
    for j, name in enumerate(names):
        if name in CALENDAR:
            continue
        v = X[:, j]
        miss = np.isnan(v)
        mean = np.nanmean(v) if (~miss).any() else 0.0
        cols.append(np.where(miss, mean, v))
        if miss.any():
            cols.append(miss.astype(float))
    D = np.column_stack(cols)
    sd = D.std(axis=0)
    D = D[:, sd > 0]
    D = (D - D.mean(axis=0)) / D.std(axis=0)
    n = D.shape[0]
    model = PoissonRegressor(alpha=1 / (a.c * n), solver="newton-cholesky", tol=1e-8, max_iter=1000)
    t = time.perf_counter()
    model.fit(D, y)
    fit_s = time.perf_counter() - t
    mu = model.predict(D)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2 * np.where(y > 0, y * np.log(y / mu), 0) - 2 * (y - mu)
    print(json.dumps({"rows": n, "columns": D.shape[1], "fit_s": fit_s, "n_iter": int(model.n_iter_),
                      "mean_deviance": float(dev.mean()), "sklearn": sklearn.__version__}))


if __name__ == "__main__":
    main()
