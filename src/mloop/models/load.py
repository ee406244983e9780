"""``mloop.models.load(uri)``: a stored or local package as one predict interface.

A stored package is extracted once into a cache folder named by its digest
(``.mloop/cache/models/<digest>/`` in a workspace, else under
``$XDG_CACHE_HOME/mloop/models/``), and every load re-hashes every file of it
against the package's manifest read from the blob store: a cached file that was
altered is refused with an IntegrityError naming it, never used.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mloop.blobs import BlobStore, Digest, Manifest
from mloop.blobs.digest import hash_file
from mloop.errors import IntegrityError, InvalidArgument, MloopError, NotFound
from mloop.models.flavors import LoadOptions, ModelContext, Predictor, get_flavor
from mloop.models.package import MANIFEST_NAME, PackageInfo, read_manifest, read_package
from mloop.models.signature import Signature
from mloop.models.uris import is_stored_uri, resolve_package
from mloop.tracking.client import Client
from mloop.tracking.fluent import active_run, default_client
from mloop.workspace import MODELS
from mloop.workspace import cache_root as workspace_cache


class LoadedModel:
    """A model package, loaded: ``predict(frame)`` whatever its flavor.

    With a signature, every frame is checked and converted first (see
    :meth:`Signature.enforce`). ``classes`` lists a classifier's labels in the order
    of :meth:`predict_proba`'s columns (None for other models).
    """

    def __init__(
        self, info: PackageInfo, predictor: Predictor, path: Path, digest: str | None
    ) -> None:
        self.info = info
        self.flavor = info.flavor
        self.signature: Signature | None = info.signature
        self.path = path
        """The verified package folder (in the extraction cache for a stored package)."""
        self.digest = digest
        """The package digest, for a stored package (None for a local folder)."""
        self.classes: list[Any] | None = predictor.classes
        self.has_proba: bool = predictor.has_proba
        self.predictor = predictor
        self._enforce: Callable[[pd.DataFrame], pd.DataFrame] = (
            _frame_only if info.signature is None else info.signature.enforce
        )

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """One prediction per row (1-D); class labels for a classifier."""
        return self.predictor.predict(self._enforce(frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Class probabilities, shape (rows, len(classes)); InvalidArgument without them."""
        return self.predictor.predict_proba(self._enforce(frame))

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        """Per-feature contributions to each prediction where the flavor has them
        cheaply (LightGBM), else None."""
        return self.predictor.contributions(self._enforce(frame))

    @property
    def requirements(self) -> list[str]:
        return list(self.info.requirements)

    @property
    def input_example(self) -> pd.DataFrame | None:
        """The rows logged with the model, if any."""
        if self.info.input_example is None:
            return None
        return pd.read_parquet(self.path / self.info.input_example)

    def __repr__(self) -> str:
        where = self.digest[:12] if self.digest else str(self.path)
        return f"<LoadedModel {self.flavor} {where}>"


def _frame_only(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"a model takes a pandas DataFrame, got {type(frame).__name__}")
    return frame


def load(
    uri: str | os.PathLike[str],
    *,
    client: Client | None = None,
    trusted_types: Sequence[str] = (),
) -> LoadedModel:
    """Load the package ``uri`` names: ``runs:/RUN/PATH``, a package digest, or a local
    package folder (``models:/`` URIs need the model registry).

    Every file is verified against its digest first. ``trusted_types`` names extra
    types a scikit-learn package may build (see the ``sklearn`` flavor): give them
    only for packages whose author you trust. ``client`` defaults to the active
    run's, else the workspace's.
    """
    if isinstance(trusted_types, str):
        raise InvalidArgument("trusted_types is a list of type names, not one string")
    text = os.fspath(uri)
    if isinstance(uri, os.PathLike) or not is_stored_uri(text):
        folder = Path(text)
        if not folder.is_dir():
            raise NotFound(
                f"no model package folder {folder}; a model URI is one of: "
                "runs:/RUN_ID/PATH, models:/NAME/VERSION, a digest, a folder"
            )
        return open_package(folder, read_package(folder), None, trusted_types)
    client = client or _default_client()
    digest = resolve_package(client, text)
    folder, info = extract(client.blobs, digest, cache_root(client))
    return open_package(folder, info, digest.hex, trusted_types)


def open_package(
    folder: Path, info: PackageInfo, digest: str | None, trusted_types: Sequence[str] = ()
) -> LoadedModel:
    """A verified package folder, loaded."""
    context = ModelContext({name: folder / path for name, path in info.artifacts.items()})
    how = LoadOptions(tuple(trusted_types), context)
    predictor = get_flavor(info.flavor).load(folder / "model", info.options, how)
    return LoadedModel(info, predictor, folder, digest)


def _default_client() -> Client:
    run = active_run()
    return run.client if run is not None else default_client()


def cache_root(client: Client) -> Path:
    """Where stored packages are extracted: the workspace's cache, else the user's."""
    try:
        workspace = client.settings.workspace
    except MloopError:
        workspace = None
    return workspace_cache(workspace) / MODELS


def extract(blobs: BlobStore, digest: Digest, root: Path) -> tuple[Path, PackageInfo]:
    """The package ``digest`` as a verified folder under ``root`` (extracted if needed)."""
    try:
        manifest = blobs.get_manifest(digest)
    except NotFound:
        raise NotFound(
            f"no model package {digest.short}... in the blob store {blobs.backend.url}: "
            "check the digest, or that MLOOP_BLOBS points at the store it was logged to"
        ) from None
    if MANIFEST_NAME not in {entry.path for entry in manifest.entries}:
        raise InvalidArgument(
            f"{digest.short} is a folder, not a model package: no {MANIFEST_NAME}"
        )
    folder = root / digest.hex
    if not folder.is_dir():
        _checkout(blobs, manifest, folder)
    _verify_cached(folder, manifest)
    info = read_manifest(folder)
    listed = {entry.path: (entry.digest.hex, entry.size) for entry in manifest.entries}
    for path, expected in info.files.items():
        if listed.get(path) != expected:
            raise IntegrityError(
                f"model package {digest.short}: {MANIFEST_NAME} and the stored "
                f"package disagree about {path}; the package is refused"
            )
    return folder, info


def _checkout(blobs: BlobStore, manifest: Manifest, folder: Path) -> None:
    """Write the package's files into ``folder``: verified in a staging folder, then renamed."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".tmp-{uuid.uuid4().hex}"
    try:
        blobs.checkout_manifest(manifest, staging)
        try:
            staging.rename(folder)
        except OSError:  # another process extracted it meanwhile: that copy is checked next
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _verify_cached(folder: Path, manifest: Manifest) -> None:
    for entry in manifest.entries:
        path = folder / entry.path
        try:
            same = path.stat().st_size == entry.size and hash_file(path) == entry.digest
        except (NotFound, FileNotFoundError):
            same = False
        if not same:
            raise IntegrityError(
                f"the cached copy of model package {folder.name[:12]} was altered: "
                f"{entry.path} no longer matches its digest, so it is refused; delete "
                f"{folder} to extract the package again from the blob store"
            )
