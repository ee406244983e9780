"""mloop: the whole machine-learning lifecycle in one tool.

    import mloop

    with mloop.start_run(experiment="churn"):
        mloop.log_params({"max_depth": 6})
        mloop.log_metric("auc", 0.91)

Everything explicit goes through :class:`mloop.Client`.
"""

from mloop import data, models, monitoring, pipelines, registry, serving
from mloop.data import log_input
from mloop.evaluation.record import evaluate
from mloop.pipelines import pipeline, step, sweep
from mloop.store.entities import MetricPoint, RunStatus
from mloop.tracking import (
    ActiveRun,
    Client,
    active_run,
    end_run,
    log_artifact,
    log_dict,
    log_figure,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_tag,
    set_tags,
    start_run,
)

__version__ = "0.1.0"

__all__ = [
    "ActiveRun",
    "Client",
    "MetricPoint",
    "RunStatus",
    "__version__",
    "active_run",
    "data",
    "end_run",
    "evaluate",
    "log_artifact",
    "log_dict",
    "log_figure",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "models",
    "monitoring",
    "pipeline",
    "pipelines",
    "registry",
    "serving",
    "set_tag",
    "set_tags",
    "start_run",
    "step",
    "sweep",
]
