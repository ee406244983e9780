"""Pipelines: steps as plain functions, a graph checked when defined, outputs stored by
digest, every step cached by its code and inputs, on a local or a Dask executor.

    import mloop

    @mloop.step
    def load(rows: int) -> pd.DataFrame: ...

    @mloop.step(retries=2)
    def train(data: pd.DataFrame, alpha: float) -> float: ...

    @mloop.pipeline
    def training(rows: int = 1000, alpha: float = 0.1):
        return train(load(rows), alpha)

    training.run({"alpha": 0.3}, executor="dask").output
"""

from mloop.pipelines.executors import (
    DaskExecutor,
    LocalExecutor,
    SubprocessExecutor,
    executor_for,
)
from mloop.pipelines.graph import DefinitionError
from mloop.pipelines.pipeline import (
    Pipeline,
    PipelineFailed,
    PipelineResult,
    load_pipeline,
    pipeline,
    resume,
)
from mloop.pipelines.step import Step, step
from mloop.pipelines.sweep import SweepResult, log, sweep
from mloop.pipelines.values import Model, UnsupportedOutput

__all__ = [
    "DaskExecutor",
    "DefinitionError",
    "LocalExecutor",
    "Model",
    "Pipeline",
    "PipelineFailed",
    "PipelineResult",
    "Step",
    "SubprocessExecutor",
    "SweepResult",
    "UnsupportedOutput",
    "executor_for",
    "load_pipeline",
    "log",
    "pipeline",
    "resume",
    "step",
    "sweep",
]
