"""Step outputs as blobs: each kind of value has one deterministic encoding, so the
same value gives the same digest on any executor.

| kind | values | stored as |
|---|---|---|
| ``frame`` | pandas DataFrames | Parquet |
| ``array`` | NumPy arrays | ``.npy`` |
| ``json`` | None, booleans, numbers, text, and lists and dicts of them | JSON, keys sorted |
| ``model`` | what ``mloop.models.log`` packages | a model package, read back as a ``LoadedModel`` |

Wrap a model in :class:`Model` to give an input example, so its package gets a signature.
| ``dataset`` | a ``DatasetVersion`` | its reference, ``NAME@N`` |
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mloop.blobs import Digest
from mloop.errors import InvalidArgument
from mloop.store import DatasetVersion
from mloop.tracking.client import Client

SUPPORTED = (
    "a DataFrame, a NumPy array, None, a boolean, a number, text, a list or dict of those, "
    "a model mloop can package, or a DatasetVersion"
)


class UnsupportedOutput(InvalidArgument):
    """A step returned a value that cannot be stored."""


@dataclass(frozen=True)
class Model:
    """A step's model output with a few input rows, from which its package gets a
    signature (so a server checks requests and types columns as in training):
    ``return mloop.pipelines.Model(fitted, input_example=X.head())``."""

    model: Any
    input_example: Any = None


def store_value(client: Client, value: Any, run_id: str | None, step: str) -> dict[str, str]:
    """Store ``value``; returns its ``{"kind", "digest"}`` (what later steps receive)."""
    if isinstance(value, pd.DataFrame):
        import pyarrow as pa
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(value), buffer, compression="zstd")
        return _put(client, "frame", buffer.getvalue())
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise UnsupportedOutput(f"step {step} returned a NumPy array of objects: {SUPPORTED}")
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return _put(client, "array", buffer.getvalue())
    if isinstance(value, DatasetVersion):
        return _put(client, "dataset", value.ref.encode())
    if _is_json(value):
        text = json.dumps(value, sort_keys=True, allow_nan=True, separators=(",", ":"))
        return _put(client, "json", text.encode())
    return _model(client, value, run_id, step)


def _put(client: Client, kind: str, data: bytes) -> dict[str, str]:
    return {"kind": kind, "digest": client.blobs.put_bytes(data).hex}


def _model(client: Client, value: Any, run_id: str | None, step: str) -> dict[str, str]:
    from mloop.models.flavors import names
    from mloop.models.log import log_model

    example = value.input_example if isinstance(value, Model) else None
    value = value.model if isinstance(value, Model) else value
    if run_id is None or (callable(value) and not hasattr(value, "predict")):
        raise UnsupportedOutput(f"step {step} returned a {type(value).__name__}: {SUPPORTED}")
    try:
        info = log_model(client, run_id, value, "output", input_example=example)
    except InvalidArgument as exc:
        raise UnsupportedOutput(
            f"step {step} returned a {type(value).__name__}, which is not {SUPPORTED} "
            f"(flavors: {', '.join(names())}): {exc}"
        ) from None
    return {"kind": "model", "digest": info.digest}


def load_value(client: Client, output: dict[str, str]) -> Any:
    kind, digest = output["kind"], Digest(output["digest"])
    if kind == "model":
        from mloop.models.load import load

        return load(digest.hex, client=client)
    data = client.blobs.get_bytes(digest)
    if kind == "frame":
        return pd.read_parquet(io.BytesIO(data))
    if kind == "array":
        return np.load(io.BytesIO(data), allow_pickle=False)
    if kind == "dataset":
        from mloop.data.client import DataClient

        return DataClient(client).version(data.decode())
    return json.loads(data)


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return True
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return False  # NumPy scalars: ask for plain numbers (float(x)) so JSON stays exact
    if isinstance(value, list | tuple):
        return all(_is_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return False


def canonical(value: Any) -> str:
    """The text of a parameter or literal input in a cache key; refuses what JSON cannot say."""
    if not _is_json(value):
        raise InvalidArgument(
            f"a step argument that is not a step output must be a JSON value (None, booleans, "
            f"numbers, text, lists, dicts), got {type(value).__name__}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(str(value))
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
