#!/usr/bin/python3
"""Make the imported-churn-model fixture: an XGBoost model trained on
prevoir's own churn feature table, and xgboost's predictions on it.

The table is what these commands write (prevoir's generator is
deterministic, so the same flags give the same rows):

    prevoir --store /tmp/fx datasets generate --name demo --customers 2000 \
        --seed 7 --end 2025-01-01 --days 500
    prevoir --store /tmp/fx features build --task churn --as-of 2024-10-01 --labels
    prevoir --store /tmp/fx features export --task churn --as-of 2024-10-01 churn_features.csv

Then, with Debian's python3-xgboost (1.7.4):

    /usr/bin/python3 make_churn_xgb.py churn_features.csv

writes churn_xgb.json (the model, feature names = prevoir's churn schema)
and churn_xgb_reference.csv (the feature columns plus `prediction`, empty
cells for nulls), which `prevoir models import --reference` checks.
"""
import csv
import math
import sys

import numpy as np
import xgboost as xgb

assert xgb.__version__ == "1.7.4", xgb.__version__

src = sys.argv[1]
with open(src, newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
feats = [c for c in header if c not in ("customer_id", "as_of", "churn")]
idx = [header.index(c) for c in feats]
label = np.array([float(r[header.index("churn")]) for r in body])
X = np.array([[float(r[i]) if r[i] != "" else math.nan for i in idx] for r in body])

d = xgb.DMatrix(X, label=label, feature_names=feats, missing=math.nan)
params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 7, "tree_method": "exact"}
booster = xgb.train(params, d, num_boost_round=30)
booster.save_model("churn_xgb.json")
pred = booster.predict(d)

with open("churn_xgb_reference.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["customer_id"] + feats + ["prediction"])
    for r, p in zip(body, pred):
        w.writerow([r[header.index("customer_id")]] + [r[i] for i in idx] + [repr(float(p))])
print("rows", len(body), "features", len(feats), "positives", int(label.sum()))
