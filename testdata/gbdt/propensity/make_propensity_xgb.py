#!/usr/bin/python3
"""Make the imported-propensity-model fixture: an XGBoost model trained on
prevoir's own propensity feature table, and xgboost's predictions on it.

The table is what these commands write (prevoir's generator is
deterministic, so the same flags give the same rows):

    prevoir --store /tmp/fx datasets generate --name demo --customers 200 \
        --seed 7 --end 2025-01-01 --days 300
    prevoir --store /tmp/fx features build --task propensity --as-of 2024-12-01 \
        --labels --level product --assoc-k 5 --popular-k 5
    prevoir --store /tmp/fx features export --task propensity --as-of 2024-12-01 propensity_features.csv

Then, with Debian's python3-xgboost (1.7.4):

    /usr/bin/python3 make_propensity_xgb.py propensity_features.csv

writes propensity_xgb.json (the model, feature names = prevoir's
propensity schema) and propensity_xgb_reference.csv (customer_id, item,
the feature columns plus `prediction`, empty cells for nulls), which
`prevoir models import --reference` checks.
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
ids = ("customer_id", "item")
feats = [c for c in header if c not in ids + ("bought",)]
idx = [header.index(c) for c in feats]
label = np.array([float(r[header.index("bought")]) for r in body])
X = np.array([[float(r[i]) if r[i] != "" else math.nan for i in idx] for r in body])

d = xgb.DMatrix(X, label=label, feature_names=feats, missing=math.nan)
params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 7, "tree_method": "exact"}
booster = xgb.train(params, d, num_boost_round=20)
booster.save_model("propensity_xgb.json")
pred = booster.predict(d)

with open("propensity_xgb_reference.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(list(ids) + feats + ["prediction"])
    for r, p in zip(body, pred):
        w.writerow([r[header.index(c)] for c in ids] + [r[i] for i in idx] + [repr(float(p))])
print("rows", len(body), "features", len(feats), "positives", int(label.sum()))
