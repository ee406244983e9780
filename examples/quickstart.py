"""Version real data, track a small model search on it, release the winner through a gate,
serve it and monitor it (scikit-learn's breast cancer set).

Run inside an mloop workspace (`mloop init`), then look at `mloop runs list`,
`mloop data show breast-cancer`, `mloop runs show <id>` (which names the data it used),
`mloop models history breast-cancer`, `mloop models card breast-cancer@champion`,
`mloop predictions show breast-cancer-api` and `mloop monitor status breast-cancer-watch`.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mloop

EPOCHS = 30


DATASET = "breast-cancer"
HOLDOUT = "breast-cancer-holdout"
MODEL = "breast-cancer"
GATES = ["roc_auc>=0.95", "accuracy>=0.9"]
AGAINST_CHAMPION = ["roc_auc>=+0"]  # no worse than the model it replaces


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


def release(alpha: float, learning_rate: str, reason: str) -> None:
    """Package one configuration, register it, and make it champion if it passes the gates."""
    frame = load_breast_cancer(as_frame=True).frame
    train_part, holdout = train_test_split(
        frame, test_size=0.25, random_state=1, stratify=frame["target"]
    )
    mloop.data.add(holdout, HOLDOUT, message="held out from every release")
    with mloop.start_run(experiment=DATASET, name=f"release-alpha{alpha}-{learning_rate}"):
        mloop.log_input(f"{DATASET}@latest", role="train")
        features = train_part.drop(columns="target")
        model = make_pipeline(
            StandardScaler(),
            SGDClassifier(
                loss="log_loss", alpha=alpha, learning_rate=learning_rate, eta0=0.01, random_state=0
            ),
        ).fit(features, train_part["target"])
        mloop.log_params({"alpha": alpha, "learning_rate": learning_rate})
        info = mloop.models.log(model, input_example=features.head(3))
    version = mloop.registry.register(info, MODEL, description=reason)
    has_champion = "champion" in mloop.registry.registry().model(MODEL).aliases
    result = mloop.evaluate(
        version.uri,
        HOLDOUT,
        target="target",
        task="classification",
        baseline=f"models:/{MODEL}@champion" if has_champion else None,
        gates=GATES + AGAINST_CHAMPION if has_champion else GATES,
    )
    print(f"{version.uri}: {result.summary()}")
    if result.passed:
        mloop.registry.promote(version.uri, reason=result.summary())


def serve() -> None:
    """Deploy the champion, serve it with `mloop serve`, send it the held-out rows as
    traffic and their true classes as feedback, then stop it (its log is written on the way out)."""
    deployments = mloop.serving.Deployments(mloop.Client())
    deployments.create(f"{MODEL}-api", f"models:/{MODEL}@champion", reason="first release")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "mloop", "serve", f"{MODEL}-api", "--port", str(port)]
    )
    try:
        _wait_ready(url)
        holdout = mloop.data.get(HOLDOUT)
        right = 0
        for _, row in holdout.iterrows():
            answer = _post(f"{url}/predict", [row.drop("target").to_dict()])
            _post(
                f"{url}/feedback", {"request_id": answer["request_id"], "label": int(row["target"])}
            )
            right += answer["predictions"][0] == row["target"]
        print(f"served {len(holdout)} requests with {answer['model']}: {right} answers right")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    watch()


def watch() -> None:
    """Monitor the served traffic against the versioned data, 70 requests at a time."""
    monitors = mloop.monitoring.Monitors(mloop.Client())
    monitors.create(
        f"{MODEL}-watch",
        deployment=f"{MODEL}-api",
        reference=f"{DATASET}@1",
        window="70rows",
        target="target",
    )
    for result in monitors.run(f"{MODEL}-watch"):
        verdict = "drift" if result.drifted else "no drift"
        performance = json.loads(result.result)["performance"]
        print(
            f"window {result.window_index}: {verdict} ({result.share:.0%} of columns), "
            f"accuracy {performance['value']:.3f} vs {performance['reference']:.3f} on the data"
        )


def _post(url: str, body: object) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def _wait_ready(url: str) -> None:
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{url}/ready"):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise SystemExit("the scoring server did not start")


def main() -> None:
    add_data()
    release(1e-2, "constant", "a first, cautious model")
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
    release(alpha, lr, f"best of the search {parent.id[:8]}")
    serve()


if __name__ == "__main__":
    main()
