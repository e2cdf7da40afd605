#!/usr/bin/python3
"""Make the XGBoost fixtures for models/gbdt/xgbjson.

Run with Debian's xgboost (python3-xgboost 1.7.4):

    /usr/bin/python3 testdata/xgboost/make_fixtures.py [outdir]

For each supported objective (and one dart booster) it trains a small model on
synthetic inputs with about 10% missing values and writes, in outdir (default:
this script's directory):

    <name>.json   the model, XGBoost JSON      (Booster.save_model("x.json"))
    <name>.ubj    the same model, UBJSON       (Booster.save_model("x.ubj"))
    <name>.csv    scoring rows and XGBoost's own outputs: one column per
                  feature (header = the model's feature names, f<i> when it
                  has none; empty = missing), then `prediction` (Booster.predict)
                  and `margin` (Booster.predict(output_margin=True)), %.17g.

The scoring rows are 300 random rows (about 10% missing) followed by boundary
rows: for 80 split nodes picked at random, a random row with that node's
feature set to the split threshold t itself, to the float32 neighbours of t,
to float64 values within half a float32 ulp of t (they round to t when
XGBoost converts inputs to float32), and to a float64 value just above t's
lower float32 neighbour that rounds down to it. They check the `x < t in
float32` rule.

It also writes models prevoir must refuse, by name:

    refuse_multiclass.json   multi:softprob, num_class=3
    refuse_gblinear.json     booster gblinear
    refuse_categorical.json  a categorical split (enable_categorical)
    refuse_logitraw.json     objective binary:logitraw (not supported)
    refuse_binf.model        XGBoost 1.x deprecated binary ("binf" header)

tiny_dart.json and tiny_dart.ubj, a 3-tree model (fuzzing seeds), and
manifest.json: xgboost/numpy versions and, per model, its parameters.
"""
import json
import os
import sys
import warnings

import numpy as np
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
D = 8  # features


def inputs(rng, n, missing=0.10):
    X = rng.standard_normal((n, D))
    X[:, 1] = np.round(X[:, 1] * 3)            # integer-valued: ties at thresholds
    X[:, 2] = np.exp(X[:, 2])                  # skewed, positive
    X[:, 5] = rng.integers(0, 5, n)            # small integers
    X[:, 7] = X[:, 0] * 0.5 + rng.standard_normal(n) * 0.1
    X[rng.random(X.shape) < missing] = np.nan
    return X


def signal(X):
    Z = np.nan_to_num(X, nan=0.0)
    return 0.8 * Z[:, 0] - 0.5 * np.tanh(Z[:, 1]) + 0.3 * np.log1p(Z[:, 2]) + 0.25 * (Z[:, 5] == 3) \
        - 0.4 * Z[:, 3] * (Z[:, 4] > 0) + 0.6 * np.isnan(X[:, 6])


def target(rng, objective, eta):
    if objective in ("binary:logistic",):
        return (rng.random(len(eta)) < 1 / (1 + np.exp(-eta))).astype(float)
    if objective == "reg:logistic":
        return np.clip(1 / (1 + np.exp(-eta)) + rng.normal(0, 0.05, len(eta)), 0, 1)
    if objective == "reg:squarederror":
        return 10 + 3 * eta + rng.normal(0, 0.5, len(eta))
    if objective == "count:poisson":
        return rng.poisson(np.exp(0.8 + 0.7 * eta)).astype(float)
    if objective == "reg:tweedie":
        counts = rng.poisson(np.exp(-0.5 + 0.6 * eta))
        return np.array([rng.gamma(2.0, 1.5, c).sum() for c in counts])
    if objective == "reg:gamma":
        mu = np.exp(1.0 + 0.5 * eta)
        return rng.gamma(3.0, mu / 3.0)
    raise ValueError(objective)


MODELS = [
    # name, objective, params, rounds, feature names?
    ("binary_logistic", "binary:logistic",
     {"max_depth": 5, "eta": 0.1, "tree_method": "hist", "base_score": 0.3}, 100, True),
    ("reg_logistic", "reg:logistic",
     {"max_depth": 4, "eta": 0.2, "tree_method": "approx"}, 50, False),
    ("reg_squarederror", "reg:squarederror",
     {"max_depth": 6, "eta": 0.1, "tree_method": "exact", "base_score": 10.0}, 80, True),
    ("count_poisson", "count:poisson",
     {"max_depth": 4, "eta": 0.1, "tree_method": "hist", "base_score": 2.0}, 150, False),
    ("reg_tweedie", "reg:tweedie",
     {"max_depth": 5, "eta": 0.1, "tree_method": "hist", "tweedie_variance_power": 1.4}, 100, True),
    ("reg_gamma", "reg:gamma",
     {"max_depth": 5, "eta": 0.1, "tree_method": "hist", "base_score": 3.0}, 80, False),
    ("dart_binary", "binary:logistic",
     {"booster": "dart", "max_depth": 4, "eta": 0.2, "tree_method": "hist", "rate_drop": 0.15,
      "skip_drop": 0.3, "sample_type": "weighted", "normalize_type": "forest"}, 60, False),
]

NAMES = ["age", "tenure", "spend", "visits", "score", "segment", "last_gap", "age2"]


def split_nodes(bst):
    """(feature index, float32 threshold) of every split node."""
    gb = json.loads(bst.save_raw("json"))["learner"]["gradient_booster"]
    model = gb["gbtree"]["model"] if gb["name"] == "dart" else gb["model"]
    out = []
    for t in model["trees"]:
        for l, f, c in zip(t["left_children"], t["split_indices"], t["split_conditions"]):
            if l != -1:
                out.append((f, np.float32(c)))
    return out


def boundary_rows(rng, bst, n_nodes=80):
    nodes = split_nodes(bst)
    pick = rng.choice(len(nodes), size=min(n_nodes, len(nodes)), replace=False)
    rows = []
    for i in pick:
        f, t = nodes[i]
        t64 = float(t)
        up = float(np.nextafter(t, np.float32(np.inf)))
        dn = float(np.nextafter(t, np.float32(-np.inf)))
        # float64 values that round to t, and one just above t's float32
        # neighbour below that rounds down to it: left in XGBoost (x < t
        # in float32) though above that neighbour in float64
        near = [t64 + (up - t64) * 0.49, t64 - (t64 - dn) * 0.49, dn + (t64 - dn) * 0.49]
        for v in [t64, up, dn] + near:
            r = inputs(rng, 1)[0]
            r[f] = v
            rows.append(r)
    return np.array(rows)


def fmt(v):
    return "" if np.isnan(v) else "%.17g" % v


def write_csv(path, names, X, pred, margin):
    with open(path, "w") as f:
        f.write(",".join(names + ["prediction", "margin"]) + "\n")
        for r, p, m in zip(X, pred, margin):
            f.write(",".join([fmt(v) for v in r] + ["%.17g" % p, "%.17g" % m]) + "\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    os.makedirs(out, exist_ok=True)
    manifest = {"xgboost": xgb.__version__, "numpy": np.__version__, "models": {}}
    for k, (name, objective, params, rounds, named) in enumerate(MODELS):
        rng = np.random.default_rng(1000 + k)
        X = inputs(rng, 3000)
        y = target(rng, objective, signal(X))
        names = NAMES if named else None
        p = dict(params, objective=objective, seed=k, nthread=1)
        bst = xgb.train(p, xgb.DMatrix(X, label=y, feature_names=names, missing=np.nan), rounds)
        bst.save_model(os.path.join(out, name + ".json"))
        bst.save_model(os.path.join(out, name + ".ubj"))
        Xs = np.vstack([inputs(rng, 300), boundary_rows(rng, bst)])
        ds = xgb.DMatrix(Xs, feature_names=names, missing=np.nan)
        pred = bst.predict(ds)
        margin = bst.predict(ds, output_margin=True)
        write_csv(os.path.join(out, name + ".csv"), names or ["f%d" % i for i in range(D)], Xs, pred, margin)
        manifest["models"][name] = {"objective": objective, "params": p, "rounds": rounds, "rows": len(Xs)}
        print(name, os.path.getsize(os.path.join(out, name + ".json")), len(Xs))

    rng = np.random.default_rng(7)
    X = inputs(rng, 600)
    small = {"max_depth": 2, "nthread": 1, "seed": 0}
    bst = xgb.train(dict(small, objective="multi:softprob", num_class=3),
                    xgb.DMatrix(X, label=rng.integers(0, 3, len(X))), 2)
    bst.save_model(os.path.join(out, "refuse_multiclass.json"))
    bst = xgb.train(dict(small, booster="gblinear", objective="reg:squarederror"),
                    xgb.DMatrix(X, label=signal(X)), 2)
    bst.save_model(os.path.join(out, "refuse_gblinear.json"))
    Xc = X.copy()
    Xc[:, 5] = rng.integers(0, 4, len(X))
    dc = xgb.DMatrix(Xc, label=(Xc[:, 5] == 2).astype(float), enable_categorical=True,
                     feature_types=["q"] * 5 + ["c"] + ["q"] * 2)
    bst = xgb.train(dict(small, objective="binary:logistic", tree_method="hist", max_cat_to_onehot=1), dc, 2)
    bst.save_model(os.path.join(out, "refuse_categorical.json"))
    # Tiny supported models: seeds for the fuzz targets.
    bst = xgb.train(dict(small, booster="dart", objective="binary:logistic", rate_drop=0.5),
                    xgb.DMatrix(X, label=(signal(X) > 0).astype(float), feature_names=NAMES), 3)
    bst.save_model(os.path.join(out, "tiny_dart.json"))
    bst.save_model(os.path.join(out, "tiny_dart.ubj"))
    bst = xgb.train(dict(small, objective="binary:logitraw"),
                    xgb.DMatrix(X, label=(signal(X) > 0).astype(float)), 2)
    bst.save_model(os.path.join(out, "refuse_logitraw.json"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bst.save_model(os.path.join(out, "refuse_binf.model"))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
