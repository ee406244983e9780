"""Scoring off the event loop, in adaptive micro-batches.

Requests are queued; one worker thread scores whatever is queued as one batch per
model (and routing), so under concurrency eight single-row requests cost about one
model call, while a lone request is scored at once (no waiting for a batch to
fill). Each batch is written to the prediction journal, then each request's future is
resolved; a shadow model runs on a second thread, off the answer's path, and the
prediction log's buffer gets the batch after it (without a shadow, at once). A
model whose output does not have one answer per row fails its requests (422), and
any error the scorer did not expect fails the requests it held: none is left
waiting.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from mloop.errors import InvalidArgument
from mloop.serving.payload import PayloadError, Rows, merge
from mloop.serving.predlog import PredictionLog, Ticket
from mloop.serving.records import Entry, Shadowed
from mloop.serving.redact import redact
from mloop.serving.served import Routing, Scores, ServedModel
from mloop.store import Failure


@dataclass(slots=True)
class Job:
    served: ServedModel
    rows: Rows
    request_id: str
    received: float
    """time.perf_counter() at arrival."""
    time_ms: int
    future: asyncio.Future[Scores]
    routing: Routing


@dataclass(slots=True)
class _Group:
    served: ServedModel
    routing: Routing
    jobs: list[Job] = field(default_factory=list)


class Scorer:
    """Scores jobs on one thread; ``max_batch_rows`` caps one model call."""

    def __init__(self, log: PredictionLog | None, max_batch_rows: int = 256) -> None:
        self.log = log
        self.max_batch_rows = max_batch_rows
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="mloop-score")
        self._after = ThreadPoolExecutor(1, thread_name_prefix="mloop-shadow-log")
        self._pending: list[Job] = []
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def score(
        self, routing: Routing, served: ServedModel, rows: Rows, request_id: str, received: float
    ) -> Scores:
        loop = asyncio.get_running_loop()
        self._loop = loop
        job = Job(
            served,
            rows,
            request_id,
            received,
            time.time_ns() // 1_000_000,
            loop.create_future(),
            routing,
        )
        self._pending.append(job)
        if self._worker is None:
            self._worker = loop.create_task(self._drain())
        return await job.future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._take()
                try:
                    await loop.run_in_executor(self._pool, self._run, batch)
                except Exception as exc:  # a bug, not a bad request: fail what it held
                    for group in batch:
                        for job in group.jobs:
                            _settle(job.future, None, PayloadError(500, f"scoring failed: {exc}"))
        finally:
            self._worker = None

    def _take(self) -> tuple[list[_Group], list[Job]]:
        groups: dict[tuple[int, int, tuple[str, ...]], _Group] = {}
        rows = 0
        taken = 0
        for job in self._pending:
            if rows and rows + job.rows.count > self.max_batch_rows:
                break
            key = (id(job.served), id(job.routing), tuple(job.rows.columns))
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(job.served, job.routing)
            group.jobs.append(job)
            rows += job.rows.count
            taken += 1
        return list(groups.values()), self._pending[taken:]

    async def drain(self) -> None:
        """Wait until every queued job was scored, shadowed and logged (graceful shutdown)."""
        while self._worker is not None:
            await asyncio.shield(self._worker)
        await asyncio.get_running_loop().run_in_executor(self._after, lambda: None)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._after.shutdown(wait=True)

    # -- on the scoring thread ----------------------------------------------------------
    def _run(self, groups: list[_Group]) -> None:
        for group in groups:
            self._score_group(group)

    def _score_group(self, group: _Group) -> None:
        served, jobs = group.served, group.jobs
        try:
            frame = served.to_frame(merge([job.rows for job in jobs]))
            scores = served.score(frame, checked=served.frames_match)
            _check_shape(scores, len(frame))
        except Exception as exc:
            if len(jobs) > 1:  # one bad request must not fail the others batched with it
                for job in jobs:
                    self._score_group(_Group(served, group.routing, [job]))
                return
            if self.log is not None and not isinstance(exc, PayloadError | InvalidArgument):
                job = jobs[0]
                self.log.fail(
                    Failure(
                        job.request_id,
                        job.time_ms,
                        job.rows.count,
                        served.label,
                        f"{type(exc).__name__}: {exc}",
                        group.routing.deployment,
                        group.routing.revision,
                    )
                )
            self._resolve(jobs[0].future, None, _model_error(exc))
            return
        done = time.perf_counter()
        entry, ticket = None, None
        if self.log is not None:  # journaled before the answers go out
            entry = Entry(
                served,
                group.routing.deployment,
                group.routing.revision,
                [job.request_id for job in jobs],
                [job.rows.count for job in jobs],
                [job.time_ms for job in jobs],
                [(done - job.received) * 1000 for job in jobs],
                frame,
                scores,
                float_inputs=served.frames_match,
            )
            ticket = self.log.record(entry, group.routing.shadow)
        start = 0
        for job in jobs:
            end = start + job.rows.count
            part = Scores(
                scores.predictions[start:end],
                None if scores.proba is None else scores.proba[start:end],
            )
            self._resolve(job.future, part, None)
            start = end
        if entry is None:
            return
        if group.routing.shadow is not None:  # real work: on the second thread
            self._after.submit(self._shadow_and_log, group.routing.shadow, frame, entry, ticket)
        else:  # a list append: cheaper here than a thread hop
            self._shadow_and_log(None, frame, entry, ticket)

    def _shadow_and_log(
        self, shadow: ServedModel | None, frame: Any, entry: Entry, ticket: Ticket | None
    ) -> None:
        if shadow is not None:
            entry.shadow = _shadow(shadow, frame)
        assert self.log is not None
        self.log.append(entry, ticket)

    def _resolve(
        self, future: asyncio.Future[Scores], scores: Scores | None, error: Exception | None
    ) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_settle, future, scores, error)


def _settle(future: asyncio.Future[Scores], scores: Scores | None, error: Exception | None) -> None:
    if future.done():  # the client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert scores is not None
        future.set_result(scores)


def _shadow(shadow: ServedModel, frame: Any) -> Shadowed:
    try:
        return Shadowed(shadow, shadow.score(frame))
    except Exception as exc:
        return Shadowed(shadow, None, f"{type(exc).__name__}: {exc}"[:500])


def _check_shape(scores: Scores, rows: int) -> None:
    predictions, proba = scores.predictions, scores.proba
    if predictions.ndim == 0 or len(predictions) != rows:
        raise ValueError(
            f"the model gave {predictions.size} answer(s) of shape {predictions.shape} "
            f"for {rows} row(s): a model answers once per row"
        )
    if proba is not None and (proba.ndim != 2 or len(proba) != rows):
        raise ValueError(f"the model gave probabilities of shape {proba.shape} for {rows} rows")


def _model_error(exc: Exception) -> PayloadError:
    if isinstance(exc, PayloadError):
        return exc
    if isinstance(exc, InvalidArgument):  # the signature refused a value the parser let by
        return PayloadError(422, f"the rows do not fit the model's signature: {redact(str(exc))}")
    return PayloadError(
        422, f"the model could not score these rows: {type(exc).__name__}: {redact(str(exc))}"
    )
