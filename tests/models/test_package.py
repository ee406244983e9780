"""Packages: what they record, where they are found, and that altered bytes are refused."""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mloop
from mloop.blobs import Digest, hash_file
from mloop.errors import IntegrityError, InvalidArgument, NotFound
from mloop.models import ColumnSpec, ModelInfo, Signature, load, log_model
from mloop.models.load import cache_root
from mloop.tracking.client import Client

Data = tuple[pd.DataFrame, pd.Series]


@pytest.fixture(scope="module")
def logistic(cancer: Data) -> LogisticRegression:
    X, y = cancer
    return LogisticRegression(max_iter=3000).fit(X, y)


@pytest.fixture
def logged(client: Client, run_id: str, logistic: Any, cancer: Data) -> ModelInfo:
    return log_model(client, run_id, logistic, input_example=cancer[0].head(3))


def _manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "mloop-model.json").read_text())
    return data


def _alter(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _blob_of(client: Client, info: ModelInfo, entry: str) -> Path:
    manifest = client.blobs.get_manifest(Digest(info.digest))
    digest = next(e.digest for e in manifest.entries if e.path == entry)
    found = client.blobs.local_path(digest)
    assert found is not None
    return found


# -- what a package records ----------------------------------------------------------------------
def test_the_manifest_describes_the_package(
    client: Client, logged: ModelInfo, cancer: Data
) -> None:
    model = load(logged.uri, client=client)
    manifest = _manifest(model.path)
    assert manifest["format"] == "mloop.model/1"
    assert manifest["flavor"] == "sklearn"
    assert manifest["mloop_version"] == metadata.version("mloop")
    assert manifest["python_version"] == platform.python_version()
    for name in ("mloop", "numpy", "pandas", "pyarrow", "scikit-learn", "skops", "scipy"):
        assert f"{name}=={metadata.version(name)}" in manifest["requirements"]
    assert (model.path / "requirements.txt").read_text().split() == manifest["requirements"]
    on_disk = {p.relative_to(model.path).as_posix() for p in model.path.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"mloop-model.json"}
    for path, entry in manifest["files"].items():
        assert hash_file(model.path / path).hex == entry["digest"], path
        assert (model.path / path).stat().st_size == entry["size"]
    assert Signature.from_dict(manifest["signature"]) == logged.signature
    pd.testing.assert_frame_equal(model.input_example, cancer[0].head(3))


def test_the_run_holds_the_package_as_a_folder_artifact(
    client: Client, logged: ModelInfo, run_id: str
) -> None:
    (entry,) = client.list_artifacts(run_id)
    assert (entry.path, entry.digest, entry.is_dir) == ("model", logged.digest, True)
    assert logged.uri == f"runs:/{run_id}/model"
    paths = {e.path for e in client.blobs.get_manifest(Digest(logged.digest)).entries}
    assert {"mloop-model.json", "model/model.skops", "input_example.parquet"} <= paths


def test_requirements_of_the_caller(
    client: Client, run_id: str, logistic: Any, cancer: Data
) -> None:
    info = log_model(client, run_id, logistic, requirements=["Jinja2", "my-features>=2", "numpy<3"])
    requirements = load(info.uri, client=client).requirements
    assert f"Jinja2=={metadata.version('jinja2')}" in requirements  # bare: pinned here
    assert "my-features>=2" in requirements  # as written
    assert "numpy<3" in requirements and f"numpy=={metadata.version('numpy')}" not in requirements
    with pytest.raises(InvalidArgument, match="'not-installed-here' is not installed"):
        log_model(client, run_id, logistic, "other", requirements=["not-installed-here"])
    assert [e.path for e in client.list_artifacts(run_id)] == ["model"]


# -- where a package is found --------------------------------------------------------------------
def test_loaded_by_run_prefix_digest_and_folder(
    client: Client, logged: ModelInfo, run_id: str, cancer: Data, tmp_path: Path
) -> None:
    X = cancer[0]
    expected = load(logged.uri, client=client).predict(X)
    by_prefix = load(f"runs:/{run_id[:6]}/model", client=client)
    by_digest = load(logged.digest, client=client)
    assert by_digest.digest == by_prefix.digest == logged.digest
    folder = client.download_artifact(run_id, "model", tmp_path / "downloaded")
    for model in (by_prefix, by_digest, load(folder), load(str(folder))):
        np.testing.assert_array_equal(model.predict(X), expected)


def test_a_second_load_uses_the_extracted_copy(
    client: Client, logged: ModelInfo, cancer: Data
) -> None:
    first = load(logged.uri, client=client)
    assert first.path == cache_root(client) / logged.digest
    _blob_of(client, logged, "model/model.skops").unlink()  # the store's copy is gone
    again = load(logged.uri, client=client)
    assert again.path == first.path
    np.testing.assert_array_equal(again.predict(cancer[0]), first.predict(cancer[0]))


def test_what_names_no_package(client: Client, logged: ModelInfo, run_id: str) -> None:
    with pytest.raises(NotFound, match=f"run {run_id} has no artifact 'other'; .*: model"):
        load(f"runs:/{run_id}/other", client=client)
    with pytest.raises(NotFound, match="no run whose id starts with 'ffff'"):
        load("runs:/ffff/model", client=client)
    with pytest.raises(InvalidArgument, match="runs:/RUN_ID/ARTIFACT_PATH"):
        load(f"runs:/{run_id}", client=client)
    with pytest.raises(NotFound, match="no registered model named 'churn'"):
        load("models:/churn/3", client=client)
    with pytest.raises(NotFound, match="no model package 000000000000"):
        load("0" * 64, client=client)
    with pytest.raises(NotFound, match="no model package folder"):
        load("no/such/folder", client=client)
    client.log_bytes(run_id, b"{}", "notes.json")
    with pytest.raises(InvalidArgument, match=r"'notes\.json' of run .* is a file, not a model"):
        load(f"runs:/{run_id}/notes.json", client=client)


def test_a_folder_that_is_not_a_package(client: Client, run_id: str, tmp_path: Path) -> None:
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "a.txt").write_text("a")
    client.log_artifact(run_id, tmp_path / "plots")
    with pytest.raises(InvalidArgument, match=r"not a model package: no mloop-model\.json"):
        load(f"runs:/{run_id}/plots", client=client)
    with pytest.raises(InvalidArgument, match="is not an mloop model package"):
        load(tmp_path / "plots")


# -- altered bytes -----------------------------------------------------------------------------
def test_a_package_altered_in_the_blob_store_is_refused(client: Client, logged: ModelInfo) -> None:
    _alter(_blob_of(client, logged, "model/model.skops"))
    with pytest.raises(IntegrityError, match=r"model/model\.skops"):
        load(logged.uri, client=client)
    assert not (cache_root(client) / logged.digest).exists()  # nothing half-extracted


@pytest.mark.parametrize("entry", ["model/model.skops", "mloop-model.json"])
def test_a_package_altered_in_the_cache_is_refused(
    client: Client, logged: ModelInfo, entry: str
) -> None:
    folder = load(logged.uri, client=client).path
    _alter(folder / entry)
    with pytest.raises(IntegrityError, match=f"{entry} no longer matches its digest") as error:
        load(logged.uri, client=client)
    assert str(folder) in str(error.value)  # says what to delete


def test_a_local_package_altered_or_incomplete_is_refused(
    client: Client, logged: ModelInfo, run_id: str, tmp_path: Path
) -> None:
    folder = client.download_artifact(run_id, "model", tmp_path / "copy")
    _alter(folder / "input_example.parquet")
    with pytest.raises(IntegrityError, match=r"the file input_example\.parquet was altered"):
        load(folder)
    (folder / "input_example.parquet").unlink()
    with pytest.raises(IntegrityError, match=r"the file input_example\.parquet is missing"):
        load(folder)


# -- bad input changes nothing -------------------------------------------------------------------
def test_an_unknown_run_stores_nothing(client: Client, logistic: Any) -> None:
    with pytest.raises(NotFound):
        log_model(client, "0" * 32, logistic)
    assert list(client.blobs.iter_digests()) == []


def test_an_example_that_does_not_fit_the_signature_stores_nothing(
    client: Client, run_id: str, logistic: Any, cancer: Data
) -> None:
    X = cancer[0]
    signature = Signature(tuple(ColumnSpec(name, "float") for name in X.columns))
    wrong = X.head(2).astype({"mean area": str})
    with pytest.raises(InvalidArgument, match="column 'mean area': expected float, got string"):
        log_model(client, run_id, logistic, signature=signature, input_example=wrong)
    assert list(client.blobs.iter_digests()) == []
    assert client.list_artifacts(run_id) == []


def test_a_loaded_model_refuses_a_missing_or_mistyped_column(
    client: Client, logged: ModelInfo, cancer: Data
) -> None:
    model = load(logged.uri, client=client)
    X = cancer[0].head(3)
    with pytest.raises(InvalidArgument, match="missing column 'worst area' \\(float\\)"):
        model.predict(X.drop(columns="worst area"))
    with pytest.raises(InvalidArgument, match="'mean radius': expected float, got string"):
        model.predict_proba(X.assign(**{"mean radius": "big"}))
    as_ints = X.assign(**{"mean area": X["mean area"].round().astype("int64")})
    np.testing.assert_array_equal(
        model.predict(as_ints), model.predict(as_ints.astype({"mean area": float}))
    )


# -- the fluent API --------------------------------------------------------------------------------
def test_log_needs_an_active_run(logistic: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"wrap the code in `with mloop.start_run\(\):`"):
        mloop.models.log(logistic)


def test_fluent_log_and_load_in_a_workspace(workspace: Path, logistic: Any, cancer: Data) -> None:
    X = cancer[0]
    with mloop.start_run(capture_env=False) as run:
        info = mloop.models.log(logistic, "classifier", input_example=X.head())
        inside = mloop.models.load(info.uri)  # the active run's client
    assert info.run_id == run.id and info.artifact_path == "classifier"
    model = mloop.models.load(info.uri)
    assert model.path == workspace / ".mloop" / "cache" / "models" / info.digest
    assert os.path.samefile(inside.path, model.path)
    np.testing.assert_array_equal(model.predict(X), logistic.predict(X))
