"""Journal records: one scored batch (or one failed request) as bytes, and back.

A record is an orjson header followed by raw buffers::

    u32 header length | header (JSON) | buffer 0 | buffer 1 | ...

A server's batches of float inputs are one NumPy block, written as it is (the common
case costs a few microseconds); other inputs go as an Arrow IPC stream, or as JSON
when Arrow cannot type them (a model without a signature). Numeric predictions and
probabilities are raw buffers; any other answers are JSON values in the header.

A record carries what the prediction log needs and nothing that runs code: the model
is named (label, package, version id, classes), never pickled.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import orjson
import pandas as pd

from mloop.serving.served import Scores
from mloop.store import Failure

_LENGTH = struct.Struct("<I")
_NUMERIC = "biuf"
SHADOW_LOST = "the server stopped before the shadow model scored these rows"
"""The shadow error of replayed rows: the shadow's answers are not journaled."""


class Answerer(Protocol):
    """What the log needs to know about the model that answered."""

    @property
    def label(self) -> str: ...
    @property
    def package(self) -> str: ...
    @property
    def version_id(self) -> int | None: ...
    @property
    def classes(self) -> list[Any] | None: ...


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model as a journal names it (a server's :class:`ServedModel` is an Answerer too)."""

    label: str
    package: str
    version_id: int | None = None
    classes: list[Any] | None = None


@dataclass(slots=True)
class Shadowed:
    """What the shadow model said about a batch (or why it could not)."""

    served: Answerer
    scores: Scores | None
    error: str | None = None


@dataclass(slots=True, eq=False)
class Entry:
    """One scored batch: the requests in it, their inputs and the model's outputs."""

    served: Answerer
    deployment: str | None
    revision: int | None
    request_ids: list[str]
    counts: list[int]
    times: list[int]
    """Each request's arrival, ms since the epoch."""
    latencies: list[float]
    """Each request's time to its answer, ms."""
    inputs: pd.DataFrame
    scores: Scores
    shadow: Shadowed | None = None
    float_inputs: bool = False
    """``inputs`` is one float64 block (a server's frame for a signature of floats only): the
    journal and the log take the block as it is, without looking at each column."""

    @property
    def rows(self) -> int:
        return len(self.inputs)


def encode_entry(seq: int, entry: Entry, shadow: Answerer | None) -> bytes:
    """The record of ``entry``; ``shadow`` is the model that will shadow it (named only)."""
    buffers: list[bytes | memoryview] = []
    served = entry.served
    header: dict[str, Any] = {
        "seq": seq,
        "kind": "batch",
        "model": [served.label, served.package, served.version_id, _plain(served.classes)],
        "deployment": entry.deployment,
        "revision": entry.revision,
        "ids": entry.request_ids,
        "counts": entry.counts,
        "times": entry.times,
        "latencies": entry.latencies,
        "shadow": None if shadow is None else [shadow.label, shadow.package],
        "inputs": _frame(entry.inputs, entry.float_inputs, buffers),
        "predictions": _array(entry.scores.predictions, buffers),
        "proba": None if entry.scores.proba is None else _array(entry.scores.proba, buffers),
    }
    return _join(header, buffers)


def encode_failure(seq: int, failure: Failure) -> bytes:
    f = failure
    header = {
        "seq": seq,
        "kind": "failure",
        "failure": [f.request_id, f.time, f.rows, f.model, f.error, f.deployment, f.revision],
    }
    return _join(header, [])


def decode(payload: bytes) -> tuple[int, Entry | Failure]:
    """The sequence number and the batch (or failure) of a record."""
    (size,) = _LENGTH.unpack_from(payload)
    header = orjson.loads(payload[4 : 4 + size])
    if header["kind"] == "failure":
        return header["seq"], Failure(*header["failure"])
    view = memoryview(payload)[4 + size :]
    buffers = []
    for length in header["buffers"]:
        buffers.append(view[:length])
        view = view[length:]
    label, package, version_id, classes = header["model"]
    shadow = header["shadow"]
    entry = Entry(
        ModelRef(label, package, version_id, classes),
        header["deployment"],
        header["revision"],
        header["ids"],
        header["counts"],
        header["times"],
        header["latencies"],
        _read_frame(header["inputs"], buffers),
        Scores(
            _read_array(header["predictions"], buffers),
            None if header["proba"] is None else _read_array(header["proba"], buffers),
        ),
        None if shadow is None else Shadowed(ModelRef(*shadow), None, SHADOW_LOST),
        header["inputs"]["kind"] == "block",
    )
    return header["seq"], entry


def _join(header: dict[str, Any], buffers: list[bytes | memoryview]) -> bytes:
    header["buffers"] = [len(b) for b in buffers]
    head = orjson.dumps(
        header, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    )
    return b"".join([_LENGTH.pack(len(head)), head, *buffers])


def _frame(
    frame: pd.DataFrame, float_block: bool, buffers: list[bytes | memoryview]
) -> dict[str, Any]:
    columns = frame.columns.tolist()
    if float_block:
        block = np.ascontiguousarray(frame.values)
        buffers.append(block.data.cast("B"))
        return {"kind": "block", "columns": columns, "shape": list(block.shape)}
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return {"kind": "json", "columns": columns, "values": frame.to_dict(orient="list")}
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    buffers.append(memoryview(sink.getvalue()))
    return {"kind": "arrow"}


def _read_frame(spec: dict[str, Any], buffers: list[memoryview]) -> pd.DataFrame:
    if spec["kind"] == "block":
        block = np.frombuffer(buffers.pop(0), np.float64).reshape(spec["shape"])
        return pd.DataFrame(block, columns=pd.Index(spec["columns"], dtype=object), copy=False)
    if spec["kind"] == "json":
        return pd.DataFrame(spec["values"], columns=spec["columns"])
    import pyarrow as pa

    with pa.ipc.open_stream(pa.py_buffer(buffers.pop(0))) as reader:
        frame: pd.DataFrame = reader.read_all().to_pandas()
    return frame


def _array(values: np.ndarray, buffers: list[bytes | memoryview]) -> dict[str, Any]:
    if values.dtype.kind in _NUMERIC:
        block = np.ascontiguousarray(values)
        buffers.append(block.data.cast("B"))
        return {"dtype": block.dtype.str, "shape": list(block.shape)}
    return {"values": values.tolist()}


def _read_array(spec: dict[str, Any], buffers: list[memoryview]) -> np.ndarray:
    if "values" in spec:
        return np.array(spec["values"], dtype=object)
    return np.frombuffer(buffers.pop(0), np.dtype(spec["dtype"])).reshape(spec["shape"])


def _plain(values: list[Any] | None) -> list[Any] | None:
    return None if values is None else [v.item() if hasattr(v, "item") else v for v in values]
