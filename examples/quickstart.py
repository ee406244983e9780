"""Version real data and track a small model search on it (scikit-learn's breast cancer set).

Run inside an mloop workspace (`mloop init`), then look at `mloop runs list`,
`mloop data show breast-cancer` and `mloop runs show <id>` (which names the data it used).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import mloop

EPOCHS = 30


DATASET = "breast-cancer"


def add_data() -> None:
    """Version the data set once; adding it again finds it unchanged."""
    frame = load_breast_cancer(as_frame=True).frame
    result = mloop.data.add(frame, DATASET, message="scikit-learn's bundled copy")
    state = "added" if result.created else "unchanged:"
    print(f"data {state} {result.version.ref} ({result.version.rows} rows)")


def train(alpha: float, learning_rate: str) -> float:
    """One child run: an SGD logistic regression trained epoch by epoch."""
    data = load_breast_cancer()
    with mloop.start_run(name=f"sgd-alpha{alpha}-{learning_rate}"):
        frame = mloop.data.get(DATASET, role="train")  # recorded as this run's input
        features, target = frame[list(data.feature_names)].to_numpy(), frame["target"].to_numpy()
        x_train, x_test, y_train, y_test = train_test_split(
            features, target, test_size=0.25, random_state=0, stratify=target
        )
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
        model = SGDClassifier(
            loss="log_loss", alpha=alpha, learning_rate=learning_rate, eta0=0.01, random_state=0
        )
        mloop.log_params({"alpha": alpha, "learning_rate": learning_rate, "epochs": EPOCHS})
        for epoch in range(EPOCHS):
            model.partial_fit(x_train, y_train, classes=[0, 1])
            mloop.log_metric("train_loss", log_loss(y_train, model.predict_proba(x_train)), epoch)
            mloop.log_metric("test_loss", log_loss(y_test, model.predict_proba(x_test)), epoch)
        auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
        mloop.log_metrics(
            {"test_auc": auc, "test_accuracy": accuracy_score(y_test, model.predict(x_test))}
        )
        mloop.log_dict({"features": list(data.feature_names)}, "features.json")
        figure, axis = plt.subplots(figsize=(5, 3))
        axis.barh(data.feature_names[:10], model.coef_[0][:10])
        axis.set_title("first 10 coefficients")
        figure.tight_layout()
        mloop.log_figure(figure, "coefficients.png")
        plt.close(figure)
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "README.txt").write_text(f"SGD alpha={alpha} lr={learning_rate}\n")
            mloop.log_artifact(folder, "notes")
        return float(auc)


def main() -> None:
    add_data()
    with mloop.start_run(experiment="breast-cancer", name="sgd-search") as parent:
        results = {
            (alpha, lr): train(alpha, lr)
            for alpha in (1e-4, 1e-2)
            for lr in ("optimal", "constant")
        }
        (alpha, lr), best = max(results.items(), key=lambda item: item[1])
        mloop.log_metric("best_test_auc", best)
        mloop.set_tags({"best.alpha": alpha, "best.learning_rate": lr})
        print(f"search {parent.id[:8]}: best AUC {best:.4f} with alpha={alpha}, {lr}")


if __name__ == "__main__":
    main()
