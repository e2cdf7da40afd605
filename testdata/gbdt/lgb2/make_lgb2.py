#!/usr/bin/env python3
"""LightGBM 2.0 and 2.1 text models, rebuilt from a LightGBM 4 model.

LightGBM 2.0 and 2.1 cannot be installed here, so these fixtures are
../lgb4/binary_categorical.txt re-written in the layout those releases'
GBDT::SaveModelToString and Tree::ToString produced (src/boosting/
gbdt_model_text.cpp and src/io/tree.cpp of the 2.0.x and 2.1.x tags):

  binary_v21.txt  header version=v2 with tree_sizes; trees without
                  is_linear; no "end of trees" line: the trees are
                  followed by "feature importances:" and the parameters
                  block (as 2.1 wrote them).
  binary_v20.txt  header version=v2 without tree_sizes; trees with
                  leaf_parent and without the *_weight fields; no "end of
                  trees", no parameters block: the file ends with the
                  feature importances (as 2.0 wrote it).

The trees themselves are unchanged, so both must score exactly as the
LightGBM 4 original: ../lgb4/binary_categorical_pred.txt.

  python3 testdata/gbdt/lgb2/make_lgb2.py
"""
import os

here = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(here, "..", "lgb4", "binary_categorical.txt")).read()
head, rest = src.split("\n\n", 1)
trees_part, tail = rest.split("end of trees\n", 1)
blocks = [b for b in trees_part.split("\n\n\n") if b.strip()]
importances = tail.split("feature_importances:\n", 1)[1].split("\n\n", 1)[0]
params = tail.split("parameters:\n", 1)[1].split("end of parameters", 1)[0]


def fields(block):
    return [l for l in block.strip("\n").split("\n")]


def leaf_parent(lines):
    kv = dict(l.split("=", 1) for l in lines[1:])
    n = int(kv["num_leaves"])
    parent = [-1] * n
    if n > 1:
        for side in ("left_child", "right_child"):
            for node, c in enumerate(int(x) for x in kv[side].split(" ")):
                if c < 0:
                    parent[~c] = node
    return " ".join(str(p) for p in parent)


def header(drop):
    return "\n".join(l.replace("version=v4", "version=v2") for l in head.split("\n")
                     if not any(l.startswith(d) for d in drop))


def write(name, text):
    with open(os.path.join(here, name), "w") as f:
        f.write(text)


# 2.1: tree_sizes, no is_linear, no "end of trees", then the rest.
tree_strs = []
for b in blocks:
    lines = [l for l in fields(b) if not l.startswith("is_linear=")]
    tree_strs.append("\n".join(lines) + "\n\n\n")
h = [l if not l.startswith("tree_sizes=") else "tree_sizes=" + " ".join(str(len(t)) for t in tree_strs)
     for l in header(["version=none"]).split("\n")]
write("binary_v21.txt", "\n".join(h) + "\n\n" + "".join(tree_strs) +
      "\nfeature importances:\n" + importances + "\n\nparameters:\n" + params + "end of parameters\n")

# 2.0: no tree_sizes, leaf_parent, no *_weight, nothing after the importances.
tree_strs = []
for b in blocks:
    lines = [l for l in fields(b) if not l.startswith(("is_linear=", "leaf_weight=", "internal_weight="))]
    out = []
    for l in lines:
        if l.startswith("leaf_value="):
            out.append("leaf_parent=" + leaf_parent(lines))
        out.append(l)
    tree_strs.append("\n".join(out) + "\n\n")
write("binary_v20.txt", header(["tree_sizes="]) + "\n\n" + "".join(tree_strs) +
      "\nfeature importances:\n" + importances + "\n")
