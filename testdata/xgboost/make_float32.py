#!/usr/bin/env python3
"""Fixtures whose float32 and float64 tree sums differ (issue 20, item 3).

XGBoost adds tree outputs in float32, one tree at a time in order, to the
float32 base margin. On models with many trees and large outputs that sum
differs from a float64 sum in the last bits. This script trains two such
models with Debian's xgboost 1.7.4 and writes, in outdir (default: this
folder):

  f32_reg.json      500-tree reg:squarederror, depth 3, targets near 1e4
  f32_poisson.json  400-tree count:poisson, depth 3, counts near 300
  <name>.csv        the scoring rows (8 features, ~10% missing), then
                    `prediction` (Booster.predict) and `margin`
                    (Booster.predict(output_margin=True)), %.17g

It checks that, on each model, a float64 sum of the trees misses xgboost's
float32 margin on many rows, so the fixtures can tell the two apart.

  /usr/bin/python3 testdata/xgboost/make_float32.py [outdir]
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb

D = 8
N_TRAIN = 3000
N_SCORE = 1000


def inputs(rng, n, missing=0.10):
    X = rng.normal(size=(n, D)) * np.array([1, 3, 0.5, 10, 1, 2, 100, 1])
    X[rng.random(size=X.shape) < missing] = np.nan
    return X


def signal(X):
    Z = np.nan_to_num(X)
    return 0.8 * Z[:, 0] - 0.3 * Z[:, 1] + np.sin(Z[:, 2] * 3) + 0.02 * Z[:, 3] + 0.004 * Z[:, 6]


def fmt(v):
    return "" if np.isnan(v) else "%.17g" % v


def leaf_sums64(bst, X, base):
    """The margin as a float64 sum of base and the trees' leaf values."""
    leaves = bst.predict(xgb.DMatrix(X), pred_leaf=True).astype(int)
    trees = json.loads(bst.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    out = np.full(len(X), base)
    for t, tree in enumerate(trees):
        out += np.array([tree["split_conditions"][k] for k in leaves[:, t]], dtype=np.float64)
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    rng = np.random.default_rng(20)
    models = {
        "f32_reg": ({"objective": "reg:squarederror", "eta": 0.05, "max_depth": 3, "base_score": 10000.0}, 500,
                    lambda X: 10000 + 400 * signal(X) + rng.normal(scale=50, size=len(X))),
        "f32_poisson": ({"objective": "count:poisson", "eta": 0.05, "max_depth": 3, "base_score": 300.0}, 400,
                        lambda X: rng.poisson(300 * np.exp(0.3 * signal(X)))),
    }
    for name, (params, rounds, target) in models.items():
        params = dict(params, nthread=1, seed=0, tree_method="hist")
        X = inputs(rng, N_TRAIN)
        bst = xgb.train(params, xgb.DMatrix(X, label=target(X)), rounds)
        bst.save_model(os.path.join(out, name + ".json"))
        Xs = inputs(rng, N_SCORE)
        d = xgb.DMatrix(Xs)
        pred = bst.predict(d)
        margin = bst.predict(d, output_margin=True)
        base = np.float32(params["base_score"])
        if params["objective"] == "count:poisson":
            base = np.float32(np.log(base))
        differ = int(np.sum(leaf_sums64(bst, Xs, float(base)).astype(np.float32) != margin))
        print("%s: %d of %d rows have a float64 tree sum, rounded to float32, other than xgboost's margin" % (name, differ, N_SCORE))
        assert differ > N_SCORE // 10, "the float32 and float64 sums do not differ enough"
        with open(os.path.join(out, name + ".csv"), "w") as f:
            f.write(",".join(["f%d" % i for i in range(D)] + ["prediction", "margin"]) + "\n")
            for r, p, m in zip(Xs, pred, margin):
                f.write(",".join([fmt(v) for v in r] + ["%.17g" % p, "%.17g" % m]) + "\n")


if __name__ == "__main__":
    main()
