"""The scoring server: an ASGI app (FastAPI) over a followed routing of loaded models.

    POST /predict    rows as records or columns → predictions, the model version, a request id
    POST /feedback   ground-truth labels by request id, for any time later
    GET  /health     the process is up;  GET /ready: the models are loaded and warmed
    GET  /metadata   what is served: deployment, revision, routes, signatures
    GET  /metrics    Prometheus metrics
    GET  /openapi.json, /docs   the request schema comes from the model's signature

The hot path does little: the body is parsed with orjson and checked against the
signature by hand (no pydantic model), scoring runs on a worker thread in
micro-batches (:mod:`mloop.serving.scorer`), and the answer is serialised from
NumPy directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from mloop.errors import InvalidArgument, MloopError, http_status
from mloop.serving.feedback import parse_feedback
from mloop.serving.follow import Follower
from mloop.serving.metrics import ServerMetrics
from mloop.serving.openapi import request_schema, response_schema
from mloop.serving.options import ServeOptions
from mloop.serving.payload import Limits, PayloadError
from mloop.serving.predlog import PredictionLog
from mloop.serving.recovery import journal_root, open_journal, recover_source, source_name
from mloop.serving.redact import redact
from mloop.serving.scorer import Scorer
from mloop.serving.served import Routing, Scores, ServedModel
from mloop.serving.source import Source
from mloop.store import validate
from mloop.tracking.client import Client

logger = logging.getLogger("mloop.serving")
JSON = "application/json"
_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_PARSE_INLINE = 256 * 1024  # bytes of body parsed on the event loop itself


class Server:
    """The parts of one scoring app: follower, scorer, prediction log, metrics."""

    def __init__(self, options: ServeOptions, client: Client | None = None) -> None:
        self.options = options
        self.client = client or Client(options.uri, blobs=options.blobs)
        self.source = Source(options.source, options.project)
        self.source.check()
        self.metrics = ServerMetrics()
        self.log = (
            PredictionLog(
                self.client,
                options.flush_rows,
                options.flush_seconds,
                options.project,
                memory_bytes=options.log_memory_bytes,
            )
            if options.log_predictions
            else None
        )
        if self.log is not None:
            self.metrics.watch(self.log)
        self.scorer = Scorer(self.log, options.max_batch_rows)
        self.follower = Follower(
            self.client,
            self.source,
            poll_seconds=options.poll_seconds,
            limits=Limits(options.max_rows, options.max_string_length),
            on_swap=self._swapped,
        )

    def _swapped(self, routing: Routing) -> None:
        self.metrics.swaps.inc()
        if self.options.announce:
            where = (
                f"deployment {routing.deployment} revision {routing.revision}: "
                if routing.deployment
                else ""
            )
            models = ", ".join(
                f"{served.label} ({weight}%)" if len(routing.primary) > 1 else served.label
                for served, weight in routing.primary
            )
            shadow = f", shadow {routing.shadow.label}" if routing.shadow else ""
            print(f"mloop: serving {where}{models}{shadow}", file=sys.stderr, flush=True)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        if self.log is not None:
            if self.options.journal:
                await asyncio.to_thread(self._open_journal, self.log)
            self.log.start()
        following = asyncio.create_task(self.follower.run())
        try:
            yield
        finally:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            await self.scorer.drain()
            self.scorer.close()
            if self.log is not None:
                await asyncio.to_thread(self.log.close)

    def _open_journal(self, log: PredictionLog) -> None:
        """This server's journal; the journals of servers of the same source that died are
        written to the log in the background (see :mod:`mloop.serving.recovery`)."""
        options = self.options
        try:
            workspace = self.client.settings.workspace
        except MloopError:
            workspace = None
        root = journal_root(options.journal_dir, workspace)
        source = source_name(options.source)
        journal = open_journal(
            self.client, root, options.project, source, options.journal_sync_seconds
        )
        log.use_journal(journal)
        folder = journal.folder.parent
        log.recovery = lambda: all(r.error is None for r in recover_source(self.client, folder))

    # -- POST /predict ------------------------------------------------------------------
    async def predict(self, request: Request) -> Response:
        received = time.perf_counter()
        routing = self.follower.routing
        if routing is None:
            return self._not_ready()
        served = routing.pick()
        try:
            request_id = _request_id(request)
            body = await _body(request, self.options.max_body_bytes)
            if len(body) > _PARSE_INLINE:  # a big batch: check it off the event loop
                rows = await asyncio.to_thread(served.parse, body)
            else:
                rows = served.parse(body)
            scores = await self.scorer.score(routing, served, rows, request_id, received)
        except PayloadError as exc:
            self.metrics.refused(_kind(exc.status), exc.status, served.label)
            return _json(exc.status, exc.body())
        self.metrics.answered(served.label, time.perf_counter() - received, rows.count)
        return Response(
            orjson.dumps(_answer(served, scores, request_id), option=_NUMPY),
            media_type=JSON,
            headers={"x-request-id": request_id},
        )

    def _not_ready(self) -> Response:
        reason = self.follower.error or "the model is still loading"  # in full in the log
        self.metrics.refused("not_ready", 503)
        return _json(503, {"error": f"not ready: {redact(reason)}"}, {"retry-after": "1"})

    # -- POST /feedback -----------------------------------------------------------------
    async def feedback(self, request: Request) -> Response:
        try:
            body = await _body(request, self.options.max_body_bytes)
            labels = parse_feedback(body)
        except PayloadError as exc:
            self.metrics.refused("bad_feedback", exc.status)
            return _json(exc.status, exc.body())
        try:
            await asyncio.to_thread(self.client.store.predictions.add_labels, labels)
        except InvalidArgument as exc:
            return _json(422, {"error": redact(str(exc))})
        except MloopError as exc:  # the store is unreachable, ...: say so, with its status
            logger.warning("mloop: labels not stored: %s", exc)
            self.metrics.refused("feedback_not_stored", http_status(exc))
            return _json(
                http_status(exc), {"error": f"the labels were not stored: {redact(str(exc))}"}
            )
        return _json(200, {"recorded": len(labels)})

    # -- the rest -----------------------------------------------------------------------
    def ready(self) -> Response:
        routing = self.follower.routing
        if routing is None:
            return self._not_ready()
        return _json(200, {"ready": True, "models": [m.label for m in routing.models]})

    def metadata(self) -> Response:
        routing = self.follower.routing
        described: dict[str, Any] = {"source": self.options.source, "ready": routing is not None}
        if routing is not None:
            described.update(routing.describe())
        described["prediction_log"] = self.log is not None
        return _json(200, described)

    def prometheus(self) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    def openapi(self, app: FastAPI) -> dict[str, Any]:
        schema = get_openapi(
            title="mloop scoring server",
            version="1",
            description=f"Serving {self.options.source}.",
            routes=app.routes,
        )
        routing = self.follower.routing
        signature = None if routing is None else routing.primary[0][0].loaded.signature
        operation = schema["paths"]["/predict"]["post"]
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": request_schema(signature)}},
        }
        operation["responses"] = {
            "200": {"description": "Predictions", "content": {JSON: {"schema": response_schema()}}},
            "400": {"description": "Malformed JSON or an empty batch"},
            "413": {"description": "The body or the batch is over the limit"},
            "422": {"description": "A field is missing or of the wrong type (named in detail)"},
            "503": {"description": "The model is not loaded yet"},
        }
        return schema


def create_app(options: ServeOptions, client: Client | None = None) -> FastAPI:
    """The scoring app for ``options`` (its models load in the background once it starts)."""
    server = Server(options, client)
    app = FastAPI(title="mloop scoring server", lifespan=server.lifespan)
    app.state.server = server
    app.add_api_route("/predict", server.predict, methods=["POST"], summary="Score rows")
    app.add_api_route(
        "/feedback", server.feedback, methods=["POST"], summary="Record ground-truth labels"
    )
    app.add_api_route("/health", lambda: {"status": "ok"}, methods=["GET"], summary="Liveness")
    app.add_api_route("/ready", server.ready, methods=["GET"], summary="Readiness")
    app.add_api_route("/metadata", server.metadata, methods=["GET"], summary="What is served")
    app.add_api_route("/metrics", server.prometheus, methods=["GET"], summary="Prometheus metrics")
    app.openapi = lambda: server.openapi(app)  # type: ignore[method-assign]
    return app


def _answer(served: ServedModel, scores: Scores, request_id: str) -> dict[str, Any]:
    predictions = scores.predictions
    out: dict[str, Any] = {
        "request_id": request_id,
        "model": served.label,
        "version": served.version,
        "predictions": predictions.tolist() if predictions.dtype.kind in "OUSMm" else predictions,
    }
    if scores.proba is not None:
        out["probabilities"] = np.ascontiguousarray(scores.proba)
        out["classes"] = served.json_classes
    return out


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdecimal():
            raise PayloadError(400, "the Content-Length header is not a number")
        if int(declared) > limit:
            raise PayloadError(413, f"the body is {declared} bytes; the limit is {limit}")
        return await request.body()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadError(413, f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    if given is None:
        return uuid.uuid4().hex
    try:
        return validate.request_id(given)
    except InvalidArgument as exc:
        raise PayloadError(400, f"the X-Request-ID header: {exc}") from None


def _kind(status: int) -> str:
    return {400: "bad_request", 413: "too_large", 422: "invalid_input"}.get(status, "other")


def _json(status: int, content: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type=JSON, headers=headers)
