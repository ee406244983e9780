"""The public face of mloop is deliberate: additions and removals are reviewed here."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import mloop
from mloop import errors

EXPECTED = {
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
}


def test_top_level_exports_are_exactly_the_documented_ones() -> None:
    assert set(mloop.__all__) == EXPECTED
    for name in mloop.__all__:
        assert hasattr(mloop, name), name


FIRST_IMPORT = """
import importlib, sys
failures = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "mloop" or m.startswith("mloop.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failures.append(f"{name}: {exc!r}")
print("\\n".join(failures))
"""


def test_every_module_imports_first_without_a_cycle() -> None:
    """No import cycles: each module can be the first mloop module a program imports."""
    modules = [
        m.name
        for m in pkgutil.walk_packages(mloop.__path__, "mloop.")
        if ".migrations" not in m.name  # Alembic scripts run only inside Alembic
    ]
    done = subprocess.run(
        [sys.executable, "-c", FIRST_IMPORT, *modules], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
    assert len(modules) > 40


def test_every_error_maps_to_an_exit_code_and_http_status() -> None:
    classes = [
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.MloopError)
    ]
    assert len(classes) == 10
    for cls in classes:
        error = cls("x")
        assert errors.exit_code(error) >= 1
        assert 400 <= errors.http_status(error) < 600
    assert errors.exit_code(errors.SchemaMismatch("x")) == errors.EXIT_CODES[errors.Conflict]
    assert errors.http_status(errors.NotFound("x")) == 404
    assert errors.http_status(errors.NotAnMloopDatabase("x")) == 400


def test_import_mloop_leaves_the_model_libraries_alone() -> None:
    """Every command starts with ``import mloop``: scikit-learn alone would add half a second,
    the web stack of the scoring server a quarter."""
    heavy = ("sklearn", "scipy", "lightgbm", "skops", "jinja2", "fastapi", "uvicorn")
    code = f"import sys, mloop, mloop.cli.app; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
