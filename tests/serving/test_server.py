"""The scoring server over real HTTP: answers, errors, metadata, metrics, feedback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from mloop.errors import InvalidArgument
from mloop.models import load
from mloop.serving import ServeOptions, create_app, predictions
from mloop.tracking.client import Client
from servers import Registered, serving, until


def test_predictions_match_in_process_predict(registered: Registered) -> None:
    X = registered.X.iloc[:40]
    expected = load("models:/bc/1", client=registered.client)
    with serving(registered.client, "models:/bc@champion") as server:
        records = server.predict(X)
        columns = server.http.post("/predict", json={k: v.tolist() for k, v in X.items()})
    for answer in (records, columns):
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["model"] == "models:/bc/1" and body["version"] == 1
        assert body["predictions"] == expected.predict(X).tolist()
        np.testing.assert_allclose(body["probabilities"], expected.predict_proba(X), rtol=1e-12)
        assert body["classes"] == [0, 1]
        assert answer.headers["x-request-id"] == body["request_id"]


def test_a_client_request_id_is_kept(registered: Registered) -> None:
    with serving(registered.client, "models:/bc/1") as server:
        answer = server.predict(registered.X.head(1), headers={"X-Request-ID": "order-42"})
        bad = server.predict(registered.X.head(1), headers={"X-Request-ID": "no spaces!"})
    assert answer.json()["request_id"] == "order-42"
    assert bad.status_code == 400 and "X-Request-ID" in bad.json()["error"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[]", 400, "empty"),
        (b"{}", 422, "field required"),
        (b'"text"', 400, "list of row objects"),
        (b"[1, 2]", 422, "an object of fields"),
        (b'[{"mean radius": "big"}]', 422, "expected a number"),
        (b'{"mean radius": [1.0], "mean texture": 3}', 422, "a list of"),
    ],
)
def test_bad_bodies_are_4xx_with_the_reason(
    registered: Registered, body: bytes, status: int, words: str
) -> None:
    with serving(registered.client, "models:/bc/1") as server:
        answer = server.http.post(
            "/predict", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == status, answer.text
        assert words in answer.text
        assert server.http.get("/health").status_code == 200


def test_a_wrong_field_is_named_with_its_expected_type(registered: Registered) -> None:
    row = registered.X.head(1).to_dict(orient="records")[0]
    row["mean area"] = "large"
    del row["worst radius"]
    with serving(registered.client, "models:/bc/1") as server:
        answer = server.predict([row])
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert {"field": "mean area", "expected": "a number"}.items() <= detail[0].items()
    assert any(d["field"] == "worst radius" and d["msg"] == "field required" for d in detail)


def test_size_limits(registered: Registered) -> None:
    rows = registered.X.head(30)
    with serving(registered.client, "models:/bc/1", max_body_bytes=2_000, max_rows=5) as server:
        big = server.predict(rows)
        many = server.http.post("/predict", json={k: [1.0] * 6 for k in rows.columns})
        small = server.predict(rows.head(1))
    assert big.status_code == 413 and "limit" in big.json()["error"]
    assert many.status_code == 413 and "6 rows" in many.json()["error"]
    assert small.status_code == 200


def test_health_ready_metadata_metrics_and_openapi(registered: Registered) -> None:
    with serving(registered.client, "models:/bc@champion") as server:
        server.predict(registered.X.head(2))
        server.predict([{"mean radius": 1}])
        assert server.http.get("/health").json() == {"status": "ok"}
        assert server.http.get("/ready").json()["models"] == ["models:/bc/1"]
        meta = server.http.get("/metadata").json()
        metrics = server.http.get("/metrics").text
        schema = server.http.get("/openapi.json").json()
    route = meta["routes"][0]
    assert route["model"] == "models:/bc/1" and route["weight"] == 100
    assert route["signature"]["inputs"][0] == {
        "name": "mean radius",
        "type": "float",
        "nullable": False,
    }
    assert 'mloop_requests_total{model="models:/bc/1",status="200"} 1.0' in metrics
    assert 'mloop_requests_total{model="models:/bc/1",status="422"} 1.0' in metrics
    assert 'mloop_predicted_rows_total{model="models:/bc/1"} 2.0' in metrics
    assert "mloop_request_latency_seconds_bucket" in metrics
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    records = body["schema"]["oneOf"][0]["items"]
    assert records["properties"]["mean radius"] == {
        "anyOf": [{"type": "number"}, {"type": "null"}]
    }
    assert len(records["required"]) == 30


def test_feedback_labels_join_their_predictions(registered: Registered) -> None:
    X, y = registered.X, registered.y
    with serving(registered.client, "models:/bc/1") as server:
        one = server.predict(X.iloc[[0]]).json()["request_id"]
        batch = server.predict(X.iloc[1:4]).json()["request_id"]
        unlabelled = server.predict(X.iloc[[4]]).json()["request_id"]
        posted = [
            server.http.post("/feedback", json={"request_id": one, "label": int(y[0])}),
            server.http.post(
                "/feedback", json={"request_id": batch, "labels": [int(v) for v in y[1:4]]}
            ),
            server.http.post("/feedback", json=[{"request_id": batch, "row": 2, "label": 7}]),
        ]
    assert [p.status_code for p in posted] == [200, 200, 200]
    assert posted[1].json() == {"recorded": 3}
    rows = predictions(client=registered.client).set_index(["request_id", "row"])
    assert rows.loc[(one, 0), "label"] == y[0]
    assert [rows.loc[(batch, i), "label"] for i in range(3)] == [y[1], y[2], 7]
    assert rows.loc[(unlabelled, 0), "label"] is None or np.isnan(
        rows.loc[(unlabelled, 0), "label"]
    )
    assert rows.loc[(batch, 1), "input.mean radius"] == X.iloc[2]["mean radius"]
    assert rows.loc[(one, 0), "model"] == "models:/bc/1"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"nope", "not valid JSON"),
        (b"[]", "no labels"),
        (b'{"label": 1}', "request_id"),
        (b'{"request_id": "a b", "label": 1}', "request_id"),
        (b'{"request_id": "r1"}', "exactly one of label or labels"),
        (b'{"request_id": "r1", "label": 1, "labels": [1]}', "exactly one"),
        (b'{"request_id": "r1", "label": {"a": 1}}', "a string, number, boolean or null"),
        (b'{"request_id": "r1", "row": -1, "label": 1}', "row number"),
        (b'{"request_id": "r1", "labels": []}', "non-empty list"),
        (b'{"request_id": "r1", "label": 1, "colour": 2}', "unknown field"),
        (b"[1]", "an object"),
    ],
)
def test_bad_feedback_is_refused_and_stores_nothing(
    registered: Registered, body: bytes, words: str
) -> None:
    with serving(registered.client, "models:/bc/1") as server:
        good = server.http.post("/feedback", json={"request_id": "r1", "label": 1})
        answer = server.http.post("/feedback", content=body)
    assert good.status_code == 200
    assert 400 <= answer.status_code < 500 and words in answer.text, answer.text
    kept = registered.client.store.predictions.labels(["r1"])
    assert [(label.row, orjson.loads(label.value)) for label in kept] == [(0, 1)]


def test_logging_off_writes_no_segment(registered: Registered) -> None:
    with serving(registered.client, "models:/bc/1", log_predictions=False) as server:
        assert server.predict(registered.X.head(3)).status_code == 200
        assert server.http.get("/metadata").json()["prediction_log"] is False
    assert registered.client.store.predictions.segments() == []


def test_the_log_is_flushed_every_n_rows(registered: Registered) -> None:
    with serving(registered.client, "models:/bc/1", flush_rows=10, flush_seconds=3600) as server:
        for _ in range(4):
            server.predict(registered.X.head(3))
        until(lambda: len(registered.client.store.predictions.segments()) >= 1)
    segments = registered.client.store.predictions.segments()
    assert sum(s.rows for s in segments) == 12  # the rest was written at shutdown
    assert all(s.model == "models:/bc/1" and s.version_id is not None for s in segments)
    registered.client.garbage_collect(delete=True, min_age=timedelta(0))
    assert len(predictions(client=registered.client)) == 12  # gc keeps the log


def test_a_run_uri_and_a_package_folder_are_served_too(
    registered: Registered, tmp_path: Path
) -> None:
    version = registered.registry.version("bc/2")
    folder = load("models:/bc/2", client=registered.client).path
    row = registered.X.head(2)
    expected = registered.models["lr"].predict(row).tolist()  # type: ignore[attr-defined]
    for source in (f"runs:/{version.run_id}/model", str(folder)):
        with serving(registered.client, source) as server:
            answer = server.predict(row).json()
        assert answer["predictions"] == expected and answer["model"] == source
    with pytest.raises(InvalidArgument, match="not a model package"):
        create_app(ServeOptions(str(tmp_path)), client=registered.client)


class _Scalar:
    def predict(self, frame: pd.DataFrame) -> float:
        return 1.0  # one answer for any number of rows: a broken model


def test_a_model_with_the_wrong_output_fails_its_requests_not_the_server(
    registered: Registered,
) -> None:
    from mloop.models import log_model

    run = registered.client.create_run(capture_env=False)
    info = log_model(registered.client, run.id, _Scalar(), input_example=registered.X.head(2))
    with serving(registered.client, info.uri) as server:
        for _ in range(3):
            answer = server.predict(registered.X.head(2))
            assert answer.status_code == 422 and "answers once per row" in answer.text
        assert server.http.get("/health").status_code == 200


def test_text_labels_are_answered(registered: Registered) -> None:
    from sklearn.linear_model import LogisticRegression

    from mloop.models import log_model

    X, y = registered.X, np.where(registered.y == 1, "benign", "malignant")
    model = LogisticRegression(max_iter=3000).fit(X, y)
    run = registered.client.create_run(capture_env=False)
    info = log_model(registered.client, run.id, model, input_example=X.head(2))
    with serving(registered.client, info.uri) as server:
        answer = server.predict(X.head(3))
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == model.predict(X.head(3)).tolist()
    assert answer.json()["classes"] == ["benign", "malignant"]


def test_an_integer_field_out_of_64_bits_is_422(local: Client) -> None:
    """-2**63-1 in a whole-number field reached the model as -2**63 (silently clamped)."""
    from sklearn.linear_model import LogisticRegression

    from mloop.models import log_model
    from mloop.registry import Registry

    X = pd.DataFrame({"age": np.arange(20, dtype=np.int64), "income": np.linspace(0, 1, 20)})
    model = LogisticRegression().fit(X, np.arange(20) % 2)
    run = local.create_run(capture_env=False)
    Registry(local).register(log_model(local, run.id, model, input_example=X.head(3)).uri, "ages")
    with serving(local, "models:/ages/1") as server:
        assert server.predict([{"age": 41, "income": 0.5}]).status_code == 200
        for number in (-(2**63) - 1, 2**63):
            answer = server.http.post(
                "/predict",
                content=f'[{{"age": {number}, "income": 0.5}}]'.encode(),
                headers={"content-type": "application/json"},
            )
            assert answer.status_code == 422, answer.text
            assert answer.json()["detail"][0]["field"] == "age" and "of 64 bits" in answer.text
