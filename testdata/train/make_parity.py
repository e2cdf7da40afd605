#!/usr/bin/python3
"""Parity fixtures for prevoir's logistic fit (package train).

Encodes tables exactly as `prevoir train --table` does, fits scikit-learn's
make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky",
tol=1e-12, max_iter=1000, C=C)) (or LogisticRegression alone for
--no-standardize), asserts that the fit converged, and writes the
coefficients (by design column name, in the standardised space), the
intercept, the scaler and every row's probability.

prevoir's encoding, mirrored by encode():
  - cells are read as text; only an empty cell (after trimming) is missing;
  - the label, ID, weight and dropped columns are not features;
  - a column is numeric when most of its non-empty cells are numbers,
    otherwise categorical: one 0/1 column per level seen, levels sorted
    (by code point), named "col=level", none dropped;
  - with missing=mean, a numeric column with missing cells gets the mean of
    its present values and a 0/1 "col_missing" column after it; a
    categorical one gets zeros in its level columns and "col_missing";
  - design columns constant over the training rows are dropped;
  - standardisation uses the mean and population standard deviation.

Outputs (in this folder):
  small.csv, small_missing.csv   synthetic tables (`;`-separated), made here
  small_parity.json              fits on them (4 variants)
  bank_parity.json.gz            bank-full at C = 1 and C = 0.01 (needs
                                 ../shared/data/bank_marketing/bank-full.csv)

Usage: /usr/bin/python3 testdata/train/make_parity.py   (from the repository root)
Needs scikit-learn 1.2.1, pandas, numpy (Debian python3-sklearn python3-pandas).
"""
import gzip
import hashlib
import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BANK = os.path.join(REPO, "..", "shared", "data", "bank_marketing", "bank-full.csv")
TOL, MAX_ITER = 1e-12, 1000


def read_table(path):
    sep = detect_sep(path)
    df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    return df.apply(lambda s: s.str.strip())


def detect_sep(path):
    with open(path, encoding="utf-8") as f:
        head = f.readline()
    counts = {d: head.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def is_number(s):
    try:
        v = float(s)
    except ValueError:
        return False
    return np.isfinite(v)


def encode(df, label, positive=None, drop=(), ids=(), weight=None, missing="refuse"):
    """The design matrix (DataFrame, raw, before standardisation), y, w."""
    skip = {label, *drop, *ids} | ({weight} if weight else set())
    parts = []
    for c in df.columns:
        if c in skip:
            continue
        s = df[c]
        present = s != ""
        nums = s[present].map(is_number)
        if missing == "refuse" and not present.all():
            raise SystemExit(f"{c}: empty cells with missing=refuse")
        if nums.sum() >= (~nums).sum():  # numeric: most non-empty cells are numbers
            v = pd.to_numeric(s.where(present & s.map(is_number)), errors="coerce")
            miss = v.isna()
            parts.append(v.fillna(v.mean()).rename(c))
            if miss.any():
                parts.append(miss.astype(float).rename(c + "_missing"))
        else:
            for lvl in sorted(set(s[present])):
                parts.append((s == lvl).astype(float).rename(f"{c}={lvl}"))
            if (~present).any():
                parts.append((~present).astype(float).rename(c + "_missing"))
    X = pd.concat(parts, axis=1)
    const = [c for c in X.columns if X[c].nunique() == 1]
    X = X.drop(columns=const)
    if positive is None:
        y = df[label].str.lower().map({"1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0})
        assert not y.isna().any(), "labels must be 0/1/true/false"
    else:
        y = (df[label] == positive).astype(float)
    w = df[weight].astype(float).values if weight else None
    return X, y.values, w, const


def fit(X, y, w, C, standardize=True, class_weight=None):
    lr = LogisticRegression(penalty="l2", C=C, solver="newton-cholesky", tol=TOL,
                            max_iter=MAX_ITER, class_weight=class_weight)
    pipe = make_pipeline(StandardScaler(), lr) if standardize else make_pipeline(lr)
    kw = {"logisticregression__sample_weight": w} if w is not None else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        pipe.fit(X.values, y, **kw)
    n_iter = int(lr.n_iter_[0])
    assert n_iter < MAX_ITER, f"not converged in {MAX_ITER} iterations"
    Xs = pipe[:-1].transform(X.values) if standardize else X.values
    coef, b = lr.coef_.ravel(), float(lr.intercept_[0])
    # Gradient of C * sum_i w_i logloss_i + 1/2 ||coef||^2, absolute.
    sw = np.ones(len(y)) if w is None else w.copy()
    if class_weight == "balanced":
        cw = len(y) / (2 * np.bincount(y.astype(int)))
        sw = sw * cw[y.astype(int)]
    z = Xs @ coef + b
    r = sw * (1 / (1 + np.exp(-z)) - y)
    g = np.concatenate([C * (Xs.T @ r) + coef, [C * r.sum()]])
    gmax = float(np.abs(g).max())
    assert gmax <= 1e-6, f"gradient {gmax} at sklearn's solution"
    p = pipe.predict_proba(X.values)[:, 1]
    out = {
        "C": C, "standardize": standardize, "class_weight": class_weight or "",
        "n_iter": n_iter, "grad_max_abs": gmax,
        "features": list(X.columns),
        "coefficients": dict(zip(X.columns, coef.tolist())),
        "intercept": b,
        "probabilities": p.tolist(),
    }
    if standardize:
        sc = pipe[0]
        out["mean"] = dict(zip(X.columns, sc.mean_.tolist()))
        out["scale"] = dict(zip(X.columns, sc.scale_.tolist()))
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def make_small():
    """A small synthetic churn table with every kind of column."""
    rng = np.random.Generator(np.random.PCG64(20240601))
    n = 400
    plan = rng.choice(["basic", "plus", "pro", "zé-team", "a b"], n, p=[.35, .25, .2, .1, .1])
    region = rng.choice(["north", "south", "east"], n)
    code = rng.choice([10, 20, 30], n)  # numbers, but a category (--categorical)
    tenure = rng.gamma(2.0, 12.0, n).round(1)
    spend = np.exp(rng.normal(3, 1, n)).round(2)
    visits = rng.poisson(4, n)
    newsletter = rng.choice(["yes", "no"], n)
    z = (-0.8 - 0.04 * tenure + 0.01 * spend + 0.15 * visits
         + np.select([plan == "basic", plan == "pro"], [0.6, -0.5], 0.0)
         + (region == "south") * 0.4 + (code == 30) * 0.3 + (newsletter == "yes") * -0.3)
    churned = np.where(rng.random(n) < 1 / (1 + np.exp(-z)), "yes", "no")
    weight = rng.choice([0.5, 1.0, 2.0], n)
    df = pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)], "plan": plan, "region": region,
        "code": code, "tenure": tenure, "spend": spend, "visits": visits,
        "newsletter": newsletter, "constant": 1, "w": weight, "churned": churned,
    })
    df.to_csv(os.path.join(HERE, "small.csv"), sep=";", index=False)
    miss = df.copy().astype(str)
    miss.loc[rng.random(n) < 0.1, "tenure"] = ""
    miss.loc[rng.random(n) < 0.08, "region"] = ""
    miss.loc[rng.random(n) < 0.05, "spend"] = ""
    miss.to_csv(os.path.join(HERE, "small_missing.csv"), sep=";", index=False)


def main():
    print("scikit-learn", sklearn.__version__, file=sys.stderr)
    make_small()
    small = os.path.join(HERE, "small.csv")
    small_missing = os.path.join(HERE, "small_missing.csv")
    common = dict(label="churned", positive="yes", ids=("customer_id",), weight=None)
    variants = []
    for name, path, kw, fkw in [
        ("c1", small, dict(missing="refuse"), dict(C=1.0)),
        ("c0.1_balanced_weighted", small, dict(missing="refuse", weight="w"), dict(C=0.1, class_weight="balanced")),
        ("c1_no_standardize", small, dict(missing="refuse"), dict(C=1.0, standardize=False)),
        ("c1_missing_mean", small_missing, dict(missing="mean"), dict(C=1.0)),
    ]:
        df = read_table(path)
        k = {**common, **kw}
        k.setdefault("drop", ())
        if "weight" not in kw:
            k["drop"] = tuple(k["drop"]) + ("w",)
        X, y, w, const = encode(df, **k)
        # code's values are numbers: prevoir is told --categorical code.
        X = recode_categorical(df, X, "code")
        r = fit(X, y, w, **fkw)
        r.update({"name": name, "table": os.path.basename(path), "sha256": sha256(path),
                  "label": "churned", "positive": "yes", "ids": ["customer_id"],
                  "drop": [d for d in k["drop"]], "weight": k.get("weight") or "",
                  "categorical": ["code"], "missing": kw["missing"],
                  "constant_dropped": const})
        variants.append(r)
        print(name, "n_iter", r["n_iter"], "grad", r["grad_max_abs"], file=sys.stderr)
    # Metrics of the first variant's probabilities, and of the same
    # probabilities rounded to one decimal (many ties), with and without
    # the weight column: reference values for train.Evaluate.
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
    df = read_table(small)
    y = (df["churned"] == "yes").astype(float).values
    sw = df["w"].astype(float).values
    metrics = []
    for name, p, w in [("exact", np.array(variants[0]["probabilities"]), None),
                       ("tied", np.round(variants[0]["probabilities"], 1), None),
                       ("tied_weighted", np.round(variants[0]["probabilities"], 1), sw)]:
        metrics.append({"name": name, "y": y.tolist(), "p": p.tolist(), "w": None if w is None else w.tolist(),
                        "roc_auc": roc_auc_score(y, p, sample_weight=w),
                        "average_precision": average_precision_score(y, p, sample_weight=w),
                        "log_loss": log_loss(y, p, sample_weight=w),
                        "brier": brier_score_loss(y, p, sample_weight=w)})
    with open(os.path.join(HERE, "small_parity.json"), "w") as f:
        json.dump({"sklearn": sklearn.__version__, "solver": "newton-cholesky", "tol": TOL,
                   "variants": variants, "metrics": metrics}, f, indent=1)
        f.write("\n")

    if not os.path.exists(BANK):
        print("bank-full.csv not found: bank fixture not made", file=sys.stderr)
        return
    df = read_table(BANK)
    X, y, w, const = encode(df, label="y", positive="yes", drop=("duration",))
    assert not const
    fits = []
    for C in (1.0, 0.01):
        r = fit(X, y, None, C)
        r["probabilities"] = [round(v, 10) for v in r["probabilities"]]  # 5e-11 << the 1e-6 tolerance
        fits.append(r)
        print("bank C", C, "n_iter", r["n_iter"], "grad", r["grad_max_abs"], file=sys.stderr)
    doc = {"sklearn": sklearn.__version__, "solver": "newton-cholesky", "tol": TOL,
           "table": "bank_marketing/bank-full.csv", "sha256": sha256(BANK),
           "label": "y", "positive": "yes", "drop": ["duration"], "fits": fits}
    raw = json.dumps(doc, separators=(",", ":")).encode()
    with open(os.path.join(HERE, "bank_parity.json.gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
            gz.write(raw)


def recode_categorical(df, X, col):
    """Replace numeric column col by its sorted level indicators, in place."""
    if col not in X.columns:
        return X
    i = list(X.columns).index(col)
    s = df[col]
    levels = sorted(set(s[s != ""]))
    ind = pd.concat([(s == l).astype(float).rename(f"{col}={l}") for l in levels], axis=1)
    return pd.concat([X.iloc[:, :i], ind, X.iloc[:, i + 1:]], axis=1)


if __name__ == "__main__":
    main()
