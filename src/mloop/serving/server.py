"""Running the scoring app under uvicorn, in one process or several."""

from __future__ import annotations

import functools

from mloop.serving.app import create_app
from mloop.serving.options import ServeOptions


def run(
    options: ServeOptions,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    access_log: bool = False,
) -> None:
    """Serve until SIGINT or SIGTERM; then finish the requests in flight and write the
    prediction log before exiting. Connections are capped and must send their headers in
    time (:mod:`mloop.serving.guard`). With ``workers`` > 1, each worker process loads the
    models, follows the deployment and writes its own log segments.

    What ``options.source`` names is resolved first: an unknown deployment, model or
    version is an error before the server starts."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from mloop.serving.guard import GuardedConfig
    from mloop.serving.source import Source
    from mloop.tracking.client import Client

    source = Source(options.source, options.project)
    source.check()
    with Client(options.uri, blobs=options.blobs) as client:
        source.resolve(client)  # an unknown deployment or version fails here, not as 503s
    config = GuardedConfig(
        functools.partial(create_app, options),
        header_timeout=options.header_timeout,
        max_connections=options.max_connections,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if _has("uvloop") else "asyncio",
        lifespan="on",
        log_level="warning",
        access_log=access_log,
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(config)
    if workers > 1:
        socket = config.bind_socket()
        Multiprocess(config, sockets=[socket]).run()
    else:
        server.run()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
