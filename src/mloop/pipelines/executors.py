"""Where steps run: in this process, one after another (``local``); each in a fresh
Python process, for isolation (``subprocess``); or as Dask tasks, independent steps in
parallel (``dask`` starts a LocalCluster on 127.0.0.1; ``tcp://HOST:PORT`` uses a
running scheduler). The executor never changes what a step computes: all call
:func:`mloop.pipelines.execute.run_task`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from mloop.errors import BackendUnavailable, InvalidArgument
from mloop.pipelines.execute import StepFailed, StepTask, run_task
from mloop.pipelines.graph import Graph, Node, Ref

MakeTask = Callable[[Node], StepTask]


class Executor(Protocol):
    name: str

    def run(self, graph: Graph, make_task: MakeTask) -> dict[str, dict[str, str]]:
        """Run every node; the output of each, by node name."""
        ...

    def close(self) -> None: ...


def _upstream(node: Node, outputs: dict[str, Any]) -> dict[str, Any]:
    return {name: outputs[ref.node] for name, ref in node.inputs.items() if isinstance(ref, Ref)}


class LocalExecutor:
    name = "local"

    def run(self, graph: Graph, make_task: MakeTask) -> dict[str, dict[str, str]]:
        outputs: dict[str, dict[str, str]] = {}
        for node in graph.nodes:
            outputs[node.name] = run_task(make_task(node), _upstream(node, outputs))
        return outputs

    def close(self) -> None:
        pass


class SubprocessExecutor:
    """Each step in a new Python process (same interpreter, same import path): a step
    that leaks memory, changes global state or crashes the interpreter takes only its
    own process down."""

    name = "subprocess"

    def run(self, graph: Graph, make_task: MakeTask) -> dict[str, dict[str, str]]:
        outputs: dict[str, dict[str, str]] = {}
        for node in graph.nodes:
            outputs[node.name] = self._one(make_task(node), _upstream(node, outputs))
        return outputs

    def _one(self, task: StepTask, upstream: dict[str, Any]) -> dict[str, str]:
        import json
        import os
        import subprocess
        import sys
        import tempfile

        import cloudpickle

        with tempfile.NamedTemporaryFile(suffix=".task", delete=False) as file:
            file.write(cloudpickle.dumps((task, upstream)))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            done = subprocess.run(
                [sys.executable, "-m", "mloop.pipelines.worker", file.name],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
        finally:
            os.unlink(file.name)
        lines = done.stdout.strip().splitlines()
        answer = json.loads(lines[-1]) if done.returncode == 0 and lines else None
        if answer is None:
            raise StepFailed(
                task.node,
                f"step {task.node}'s process ended with code "
                f"{done.returncode}:\n{done.stderr.strip()[-4000:]}",
            )
        if "failed" in answer:
            raise StepFailed(task.node, answer["failed"])
        return dict(answer["output"])

    def close(self) -> None:
        pass


class DaskExecutor:
    """Each step a Dask task; ``address`` None starts (and later stops) a LocalCluster."""

    def __init__(self, address: str | None = None, workers: int = 2) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise BackendUnavailable(
                "the dask executor needs Dask: pip install 'mloop[dask]'"
            ) from None
        self.name = address or "dask"
        self._cluster = None
        try:
            if address is None:
                self._cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    host="127.0.0.1",
                    dashboard_address=None,
                    processes=True,
                )
                self.client = Client(self._cluster)
            else:
                self.client = Client(address, timeout="5s")
        except (OSError, TimeoutError) as exc:
            self.close()
            raise BackendUnavailable(
                f"cannot reach the Dask scheduler at {address}: {exc}; check the address "
                "(tcp://HOST:PORT) and that the scheduler is running"
            ) from None

    def run(self, graph: Graph, make_task: MakeTask) -> dict[str, dict[str, str]]:
        futures: dict[str, Any] = {}
        for node in graph.nodes:
            task = make_task(node)
            futures[node.name] = self.client.submit(
                run_task,
                task,
                _upstream(node, futures),
                key=f"{task.pipeline_run}-{node.name}",
                pure=False,
            )
        try:
            return dict(zip(futures, self.client.gather(list(futures.values())), strict=True))
        finally:
            self.client.cancel([f for f in futures.values() if not f.done()])

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()


def executor_for(spec: str | Executor) -> Executor:
    """``local``, ``subprocess``, ``dask`` (a LocalCluster of 2 workers on 127.0.0.1) or
    ``tcp://HOST:PORT``."""
    if not isinstance(spec, str):
        return spec
    if spec == "local":
        return LocalExecutor()
    if spec == "subprocess":
        return SubprocessExecutor()
    if spec == "dask":
        return DaskExecutor()
    if spec.startswith("tcp://"):
        return DaskExecutor(spec)
    raise InvalidArgument(
        f"unknown executor {spec!r}: use local, subprocess, dask or tcp://HOST:PORT"
    )
