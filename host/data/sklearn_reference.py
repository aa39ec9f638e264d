#!/usr/bin/env python3
"""scikit-learn reference results on the shipped datasets, canonical split.

The "scikit-learn reference" column of the root README and the reference table of
host/data/README.md: the same data, split and standardisation as neurite's accuracy tests
(tests/tests/accuracy.rs), with scikit-learn's own MLP (default Adam settings, ReLU,
max_iter=2000) at random_state 0..4, plus logistic and linear regression baselines.

    pip install scikit-learn==1.9.1   # numpy comes with it
    python3 host/data/sklearn_reference.py

About 20 s on a 2-core machine. Nothing in the Rust build or the tests needs this
script or Python; it only documents where the reference figures come from.
"""

import csv
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
SEEDS = range(5)
CLASSIFIERS = [("iris", 16), ("wine", 16), ("breast_cancer", 32), ("digits", 64)]


def split(name):
    """Canonical split (test rows i % 5 == 0), features standardised with train statistics."""
    with open(HERE / f"{name}.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]
    data = np.array(rows, dtype=np.float64)
    x, y = data[:, :-1], data[:, -1]
    test = np.arange(len(data)) % 5 == 0
    scaler = StandardScaler().fit(x[~test])
    return scaler.transform(x[~test]), y[~test], scaler.transform(x[test]), y[test]


def span(values, digits):
    values = np.asarray(values)
    return (
        f"mean {values.mean():.{digits}f} ({values.min():.{digits}f}..{values.max():.{digits}f});"
        f" per seed {', '.join(f'{v:.{digits}f}' for v in values)}"
    )


def main():
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    print(f"scikit-learn {sklearn.__version__}, random_state {SEEDS.start}..{SEEDS.stop - 1}")
    for name, hidden in CLASSIFIERS:
        xs, ys, xt, yt = split(name)
        accs = [
            MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=2000, random_state=seed)
            .fit(xs, ys)
            .score(xt, yt)
            for seed in SEEDS
        ]
        width = xs.shape[1]
        classes = len(np.unique(ys))
        print(f"{name}: MLP {width}-{hidden}-{classes} test accuracy {span(accs, 3)}")
        if name == "digits":
            logistic = LogisticRegression(max_iter=5000).fit(xs, ys).score(xt, yt)
            print(f"digits: logistic regression test accuracy {logistic:.3f}")
    xs, ys, xt, yt = split("diabetes")
    rmse, mae = [], []
    for seed in SEEDS:
        pred = (
            MLPRegressor(hidden_layer_sizes=(32,), max_iter=2000, random_state=seed)
            .fit(xs, ys)
            .predict(xt)
        )
        rmse.append(np.sqrt(np.mean((pred - yt) ** 2)))
        mae.append(np.mean(np.abs(pred - yt)))
    print(f"diabetes: MLP 10-32-1 test RMSE {span(rmse, 1)}")
    print(f"diabetes: MLP 10-32-1 test MAE {span(mae, 1)}")
    pred = LinearRegression().fit(xs, ys).predict(xt)
    print(f"diabetes: linear regression test RMSE {np.sqrt(np.mean((pred - yt) ** 2)):.1f}")


if __name__ == "__main__":
    main()
