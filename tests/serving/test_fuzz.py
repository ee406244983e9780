"""Fuzzing /predict and /feedback over HTTP: every answer is 200 or 4xx, the server lives on."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servers import Registered, serving

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _predict_bodies(names: list[str]) -> st.SearchStrategy[bytes]:
    numbers = st.floats(-1e308, 1e308, allow_nan=False) | st.integers(-(10**6), 10**6)
    field = numbers | values
    record = st.fixed_dictionaries(
        {name: numbers for name in names[:25]},
        optional={**{name: field for name in names[25:]}, "extra": values},
    )
    columns = st.dictionaries(st.sampled_from(names), st.lists(field, max_size=4), max_size=30)
    shaped = st.lists(record, max_size=5) | columns | values
    return shaped.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=64)


feedback_item = st.fixed_dictionaries(
    {},
    optional={
        "request_id": st.text(max_size=70) | st.integers() | st.none(),
        "row": st.integers(-5, 2**40) | values,
        "label": values,
        "labels": st.lists(values, max_size=4) | values,
        "other": values,
    },
)
feedback_bodies = (st.lists(feedback_item, max_size=4) | feedback_item | values).map(
    lambda v: json.dumps(v).encode()
) | st.binary(max_size=64)

OK = {200, 400, 413, 422}


def test_no_request_body_makes_a_500_or_kills_the_server(registered: Registered) -> None:
    names = list(registered.X.columns)
    with serving(registered.client, "models:/bc/1", max_rows=4, max_body_bytes=4096) as server:

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=_predict_bodies(names))
        def predict(body: bytes) -> None:
            answer = server.http.post(
                "/predict", content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code in OK, (answer.status_code, answer.text)
            assert "error" in answer.json() or "predictions" in answer.json()

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=feedback_bodies)
        def feedback(body: bytes) -> None:
            answer = server.http.post("/feedback", content=body)
            assert answer.status_code in OK, (answer.status_code, answer.text)

        predict()
        feedback()
        assert server.http.get("/health").status_code == 200
        assert server.predict(registered.X.head(1)).status_code == 200
