#!/usr/bin/env python3
"""An XGBoost 1.0 JSON model, rebuilt from an xgboost 1.7.4 one.

XGBoost 1.0 cannot be installed here. v1_0_binary_logistic.json is
binary_logistic.json re-written in the layout XGBoost 1.0.0's
Learner::SaveModel and RegTree::SaveModel produced (doc/model.schema and
src/tree/tree_model.cc of the v1.0.0 tag):

  - "version": [1, 0, 0];
  - learner: attributes, gradient_booster, learner_model_param (base_score,
    num_class, num_feature only), objective; no feature_names or
    feature_types (added in 1.4);
  - gbtree_model_param: num_trees and size_leaf_vector;
  - each tree: tree_param (num_feature, num_nodes, size_leaf_vector), id,
    loss_changes, sum_hessian, base_weights, leaf_child_counts (1.0 only,
    dropped in 1.1), left_children, right_children, parents,
    split_indices, split_conditions, default_left as booleans; no
    split_type or categories* (added in 1.3 and 1.5).

The trees are unchanged, so it must score as binary_logistic.json:
binary_logistic.csv.

  python3 testdata/xgboost/make_v10.py
"""
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
d = json.load(open(os.path.join(here, "binary_logistic.json")))
learner = d["learner"]
lmp = learner["learner_model_param"]
model = learner["gradient_booster"]["model"]
trees = []
for t in model["trees"]:
    n = int(t["tree_param"]["num_nodes"])
    counts = [0] * n
    for node in range(n):
        if t["left_children"][node] == -1:
            p = t["parents"][node]
            while p != 2147483647 and p >= 0:
                counts[p] += 1
                p = t["parents"][p] if p != 0 else -1
    trees.append({
        "tree_param": {k: t["tree_param"][k] for k in ("num_feature", "num_nodes", "size_leaf_vector")},
        "id": t["id"],
        "loss_changes": t["loss_changes"],
        "sum_hessian": t["sum_hessian"],
        "base_weights": t["base_weights"],
        "leaf_child_counts": counts,
        "left_children": t["left_children"],
        "right_children": t["right_children"],
        "parents": t["parents"],
        "split_indices": t["split_indices"],
        "split_conditions": t["split_conditions"],
        "default_left": [bool(x) for x in t["default_left"]],
    })
out = {
    "learner": {
        "attributes": {},
        "gradient_booster": {
            "model": {
                "gbtree_model_param": {"num_trees": model["gbtree_model_param"]["num_trees"], "size_leaf_vector": "0"},
                "trees": trees,
                "tree_info": model["tree_info"],
            },
            "name": "gbtree",
        },
        "learner_model_param": {k: lmp[k] for k in ("base_score", "num_class", "num_feature")},
        "objective": learner["objective"],
    },
    "version": [1, 0, 0],
}
with open(os.path.join(here, "v1_0_binary_logistic.json"), "w") as f:
    json.dump(out, f, separators=(",", ":"))
