"""Serve one model package over HTTP (``serve.py`` in a ``mloop models dockerfile`` context).

    python serve.py [--model DIR] [--host 0.0.0.0] [--port 8080]

    GET  /health     200 {"status": "ok", "flavor": ..., "inputs": [...]}
    POST /predict    a JSON list of records, or {"records": [...]}
                     200 {"predictions": [...]} (and "probabilities", "classes"
                     when the body is {"records": [...], "proba": true})
                     400 {"error": ...} for input the model cannot take

The package is loaded (every file verified) before the server listens. Only the
standard library, pandas and mloop are used. ``MLOOP_MODEL`` and
``MLOOP_TRUSTED_TYPES`` (comma-separated) are read when the flags are not given.
"""

from __future__ import annotations

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pandas as pd

from mloop.errors import MloopError, http_status
from mloop.models.load import LoadedModel, load

MAX_BODY = 64 << 20


class ScoringHandler(BaseHTTPRequestHandler):
    model: LoadedModel
    server_version = "mloop-serve"

    def do_GET(self) -> None:
        if self.path != "/health":
            self._reply(404, {"error": f"no route {self.path}: use GET /health, POST /predict"})
            return
        signature = self.model.signature
        inputs = None if signature is None else [spec.to_dict() for spec in signature.inputs]
        self._reply(200, {"status": "ok", "flavor": self.model.flavor, "inputs": inputs})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self._reply(404, {"error": f"no route {self.path}: use POST /predict"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, {"error": f"the body is larger than {MAX_BODY} bytes"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"null")
            self._reply(200, self._score(body))
        except MloopError as exc:
            self._reply(http_status(exc), {"error": str(exc)})
        except (ValueError, TypeError) as exc:
            self._reply(400, {"error": f"bad request: {exc}"})

    def _score(self, body: Any) -> dict[str, Any]:
        proba = isinstance(body, dict) and body.get("proba") is True
        records = body.get("records") if isinstance(body, dict) else body
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError('send a JSON list of records, or {"records": [{...}, ...]}')
        frame = pd.DataFrame.from_records(records)
        out: dict[str, Any] = {"predictions": self.model.predict(frame).tolist()}
        if proba:
            out["probabilities"] = self.model.predict_proba(frame).tolist()
            out["classes"] = self.model.classes
        return out

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("MLOOP_SERVE_QUIET") != "1":
            super().log_message(format, *args)


def server(model: LoadedModel, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) that scores with ``model``."""
    handler = type("Handler", (ScoringHandler,), {"model": model})
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve an mloop model package over HTTP.")
    parser.add_argument("--model", default=os.environ.get("MLOOP_MODEL", "model"))
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    args = parser.parse_args(argv)
    trusted = [t for t in os.environ.get("MLOOP_TRUSTED_TYPES", "").split(",") if t]
    httpd = server(load(args.model, trusted_types=trusted), args.host, args.port)
    print(f"serving {args.model} on http://{args.host}:{httpd.server_port}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
