"""Experiment tracking: runs, params, metrics, tags, artifacts, notes."""

from mloop.tracking.active import ActiveRun
from mloop.tracking.client import Client
from mloop.tracking.fluent import (
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

__all__ = [
    "ActiveRun",
    "Client",
    "active_run",
    "end_run",
    "log_artifact",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_tag",
    "set_tags",
    "start_run",
]
