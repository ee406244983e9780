"""Logging a model: its package stored as a folder artifact of a run.

    with mloop.start_run():
        model.fit(X, y)
        info = mloop.models.log(model, input_example=X.head())
    mloop.models.load(info.uri).predict(X)

Everything is checked before anything is stored: the run exists, the flavor can
package the model, the signature matches the columns the model was fitted on,
the input example matches the signature, the requirements are installed.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mloop.errors import InvalidArgument, NotFound
from mloop.models.flavors import Flavor, flavor_for, get_flavor
from mloop.models.package import Contents, write_package
from mloop.models.requirements import code_distributions, resolve
from mloop.models.signature import Signature, as_frame, infer_signature
from mloop.store.entities import ArtifactEntry
from mloop.tracking.artifacts import artifact_path
from mloop.tracking.client import Client
from mloop.tracking.fluent import active_run

_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class ModelInfo:
    """A logged model: where it is and what it is."""

    run_id: str
    artifact_path: str
    uri: str
    """``runs:/<run id>/<artifact path>``, for :func:`mloop.models.load`."""
    digest: str
    """The package digest: the digest of its folder manifest in the blob store."""
    flavor: str
    signature: Signature | None


def log_model(
    client: Client,
    run_id: str,
    model: Any,
    name: str = "model",
    *,
    signature: Signature | None = None,
    input_example: Any = None,
    requirements: Sequence[str] | None = None,
    artifacts: Mapping[str, str | Path] | None = None,
    flavor: str | None = None,
) -> ModelInfo:
    """Store ``model`` as the package ``name`` (a folder artifact) of run ``run_id``.

    ``signature`` defaults to one inferred from ``input_example`` (a DataFrame,
    NumPy array or Arrow table of a few input rows). ``requirements`` adds
    distributions to the pinned ones (bare names are pinned at their installed
    version). ``artifacts`` are extra files or folders by name, handed to a python
    model's ``load_context``. ``flavor`` forces a flavor instead of the first that
    recognises the model.
    """
    path = artifact_path(name)
    run = client.get_run(run_id)  # an unknown run fails before anything is stored
    chosen = _flavor(model, flavor)
    example = None if input_example is None else as_frame(input_example, "input_example")
    if signature is None and example is not None:
        signature = infer_signature(example)
    if signature is not None:
        if not isinstance(signature, Signature):
            raise InvalidArgument(
                "signature must be a Signature (see infer_signature), "
                f"got {type(signature).__name__}"
            )
        signature = _fitted_order(chosen, model, signature)
        if example is not None:
            example = signature.enforce(example).reset_index(drop=True)
    needs = chosen.requirements()
    if chosen.name == "python":  # a pickle imports the code of its classes when loaded
        needs += code_distributions(model)
    contents = Contents(
        signature=signature,
        input_example=example,
        requirements=resolve(needs, requirements),
        artifacts=_artifact_sources(artifacts),
    )
    with tempfile.TemporaryDirectory(prefix="mloop-model-") as tmp:
        folder = Path(tmp) / "package"
        write_package(folder, model, chosen, contents)
        manifest = client.blobs.put_files(folder)
        digest = client.blobs.put_manifest(manifest)
    entry = ArtifactEntry(path, digest.hex, manifest.size, is_dir=True)
    client.store.runs.record_artifacts(run.id, [entry])
    return ModelInfo(run.id, path, f"runs:/{run.id}/{path}", digest.hex, chosen.name, signature)


def log(
    model: Any,
    name: str = "model",
    *,
    signature: Signature | None = None,
    input_example: Any = None,
    requirements: Sequence[str] | None = None,
    artifacts: Mapping[str, str | Path] | None = None,
    flavor: str | None = None,
) -> ModelInfo:
    """Log ``model`` to the active run; see :func:`log_model`."""
    run = active_run()
    if run is None:
        raise InvalidArgument(
            "no active run: wrap the code in `with mloop.start_run():` to log a model"
        )
    return log_model(
        run.client,
        run.id,
        model,
        name,
        signature=signature,
        input_example=input_example,
        requirements=requirements,
        artifacts=artifacts,
        flavor=flavor,
    )


def _flavor(model: Any, name: str | None) -> Flavor:
    if name is None:
        return flavor_for(model)
    chosen = get_flavor(name)
    if not chosen.matches(model):
        raise InvalidArgument(
            f"flavor {name!r} cannot package a {type(model).__qualname__}: {chosen.description}"
        )
    return chosen


def _fitted_order(flavor: Flavor, model: Any, signature: Signature) -> Signature:
    """``signature`` with its inputs in the order the model was fitted on them."""
    order = flavor.input_order(model, signature.input_names)
    if order == signature.input_names:
        return signature
    specs = {spec.name: spec for spec in signature.inputs}
    return Signature(tuple(specs[name] for name in order), signature.outputs)


def _artifact_sources(artifacts: Mapping[str, str | Path] | None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name, source in (artifacts or {}).items():
        if not isinstance(name, str) or not _ARTIFACT_NAME.fullmatch(name):
            raise InvalidArgument(
                f"artifact name {name!r} must be a simple name (letters, digits, _ - .)"
            )
        path = Path(source)
        if not path.exists():
            raise NotFound(f"artifact {name!r}: {path} does not exist")
        found[name] = path
    return found
