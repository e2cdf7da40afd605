#!/usr/bin/python3
"""Data for bench/xgb.bench.sh: the anchor's matrices with 10% missing values.

anchor_xgb_predict.py trains on dense_200000x32_train and scores
dense_1000000x32 from synth.py (same seeds). This script makes those files
first, in --data-dir, with each value replaced by NaN with probability 0.10
(numpy PCG64 seeded [seed, 10]); the anchor's load_or_make then loads them as
they are, so xgboost trains and predicts on the same missing values prevoir
scores. Labels come from the complete rows. Files already made are kept.

Usage: /usr/bin/python3 bench/xgb_data.py --data-dir DIR [--shared ../shared/bench]
"""
import argparse
import json
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))
    ap.add_argument("--missing", type=float, default=0.10)
    a = ap.parse_args()
    sys.path.insert(0, a.shared)
    import synth

    for stem, n, seed, beta_seed in [("dense_200000x32_train", 200_000, 43, 42), ("dense_1000000x32", 1_000_000, 42, None)]:
        path = os.path.join(a.data_dir, stem)
        meta = path + ".json"
        if os.path.exists(meta) and json.load(open(meta)).get("missing") == a.missing:
            continue
        X, y, beta, b0 = synth.make_dense(n, 32, seed, beta_seed)
        rng = np.random.Generator(np.random.PCG64([seed, 10]))
        X[rng.random(X.shape) < a.missing] = np.nan
        synth.save(path, X, y, beta, b0, seed, beta_seed)
        m = json.load(open(meta))
        m["missing"] = a.missing
        m["missing_rule"] = "NaN with probability %g per value, numpy PCG64 seeded [seed, 10]" % a.missing
        json.dump(m, open(meta, "w"), indent=1)
        print(json.dumps({"made": path, "rows": n, "nan_fraction": round(float(np.isnan(X).mean()), 4)}), flush=True)


if __name__ == "__main__":
    main()
