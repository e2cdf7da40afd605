#!/usr/bin/python3
"""prevoir's xgboost anchor for the XGBoost prediction benchmark.

--phase train: trains binary:logistic (max_depth 6, eta 0.1, tree_method
hist, nthread 2, seed 0) for --trees rounds on the training matrix that
`kit dense` wrote (dense_200000x32_train.{X,y}.f64, NaN = missing), and saves
  <models-dir>/xgb_d6_<trees>.json                 the model (XGBoost JSON)
  <models-dir>/xgb_d6_<trees>.pred_first10k.csv   margin,probability on the
                                                   first 10,000 scoring rows
--phase predict: loads the JSON into a fresh Booster and times, on the first
--rows rows of the scoring matrix (dense_1000000x32.X.f64):
  batch     Booster.inplace_predict(X) over all rows, --repeats runs at each
            thread count (1 and 2), after a check on the reference rows that
            also warms it up; rows/s = rows / median
  latency   --latency-calls calls of inplace_predict on one row each
            (1,000 untimed calls first), one thread: median, p90, p99, max (us)
and writes <results-dir>/xgb_predict.json (bench/xgbpredict reads it).

Usage: OMP_NUM_THREADS=2 /usr/bin/python3 xgb_predict.py --phase train|predict \
           --data-dir DIR --models-dir DIR --results-dir DIR [--trees 300] [--rows 1000000]
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import xgboost as xgb

COLS = 32


def matrix(path, rows=None):
    X = np.fromfile(path, dtype="<f8").reshape(-1, COLS)
    return X if rows is None else X[:rows]


def train(a):
    X = matrix(os.path.join(a.data_dir, "dense_200000x32_train.X.f64"))
    y = np.fromfile(os.path.join(a.data_dir, "dense_200000x32_train.y.f64"), dtype="<f8")
    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "tree_method": "hist",
              "nthread": 2, "seed": 0}
    t = time.perf_counter()
    bst = xgb.train(params, xgb.DMatrix(X, label=y, missing=np.nan, nthread=2), num_boost_round=a.trees)
    print(json.dumps({"phase": "train", "trees": a.trees, "train_s": round(time.perf_counter() - t, 2)}), flush=True)
    os.makedirs(a.models_dir, exist_ok=True)
    stem = os.path.join(a.models_dir, f"xgb_d6_{a.trees}")
    head = matrix(os.path.join(a.data_dir, "dense_1000000x32.X.f64"), 10_000)
    ref = np.column_stack([bst.inplace_predict(head, predict_type="margin"), bst.inplace_predict(head)])
    np.savetxt(stem + ".pred_first10k.csv.tmp", ref, delimiter=",", header="margin,probability",
               comments="", fmt="%.17g")
    bst.save_model(stem + ".json.tmp.json")
    os.replace(stem + ".pred_first10k.csv.tmp", stem + ".pred_first10k.csv")
    os.replace(stem + ".json.tmp.json", stem + ".json")


def predict(a):
    X = matrix(os.path.join(a.data_dir, "dense_1000000x32.X.f64"), a.rows)
    bst = xgb.Booster(model_file=os.path.join(a.models_dir, f"xgb_d6_{a.trees}.json"))
    ref = np.loadtxt(os.path.join(a.models_dir, f"xgb_d6_{a.trees}.pred_first10k.csv"), delimiter=",", skiprows=1)
    out = []

    def emit(rec):
        out.append(rec)
        print(json.dumps(rec), flush=True)

    for nt in (1, 2):
        bst.set_param({"nthread": nt})
        got = bst.inplace_predict(X[: len(ref)])
        if not np.allclose(got, ref[:, 1], rtol=0, atol=1e-7):
            raise SystemExit("xgboost's reloaded model differs from its own reference predictions")
        ts = []
        for _ in range(a.repeats):
            t = time.perf_counter()
            bst.inplace_predict(X)
            ts.append(time.perf_counter() - t)
        med = statistics.median(ts)
        emit({"kind": "batch_inplace", "trees": a.trees, "nthread": nt, "rows": X.shape[0], "runs": a.repeats,
              "median_s": round(med, 4), "rows_per_s": round(X.shape[0] / med)})
    bst.set_param({"nthread": 1})
    rows = [np.ascontiguousarray(X[i % X.shape[0]: i % X.shape[0] + 1]) for i in range(a.latency_calls)]
    for r in rows[:1000]:
        bst.inplace_predict(r)
    lat = np.empty(len(rows))
    for i, r in enumerate(rows):
        t = time.perf_counter_ns()
        bst.inplace_predict(r)
        lat[i] = (time.perf_counter_ns() - t) / 1000.0
    emit({"kind": "latency_1row", "trees": a.trees, "nthread": 1, "calls": len(rows),
          "median_us": round(float(np.median(lat)), 1), "p90_us": round(float(np.percentile(lat, 90)), 1),
          "p99_us": round(float(np.percentile(lat, 99)), 1), "max_us": round(float(lat.max()), 1)})
    os.makedirs(a.results_dir, exist_ok=True)
    with open(os.path.join(a.results_dir, "xgb_predict.json"), "w") as f:
        json.dump({"xgboost": xgb.__version__, "numpy": np.__version__, "results": out}, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phase", required=True, choices=["train", "predict"])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--results-dir", required=True)
    ap.add_argument("--trees", type=int, default=300)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--latency-calls", type=int, default=10_000)
    a = ap.parse_args()
    train(a) if a.phase == "train" else predict(a)


if __name__ == "__main__":
    main()
