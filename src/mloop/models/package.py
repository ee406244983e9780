"""A model package: a folder that describes itself, and its verification.

    mloop-model.json          the manifest (below)
    model/                    the flavor's files (model.skops, model.txt, model.pkl)
    input_example.parquet     optional: a few rows of input
    artifacts/NAME            optional: extra files a python model reads
    requirements.txt          the pinned requirements, for pip install -r

The manifest records the format, the flavor and its options, the mloop and
Python versions, the signature, the pinned requirements, and the blake3 digest
and size of every other file. Reading a package re-hashes every file: a changed,
missing or truncated file is an IntegrityError naming it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from mloop.blobs.digest import hash_file
from mloop.blobs.manifest import check_entry_path, walk_files
from mloop.errors import IntegrityError, InvalidArgument, NotFound
from mloop.models.flavors import Flavor
from mloop.models.signature import Signature

FORMAT = "mloop.model/1"
MANIFEST_NAME = "mloop-model.json"
MODEL_DIR = "model"
EXAMPLE = "input_example.parquet"
REQUIREMENTS = "requirements.txt"
ARTIFACTS_DIR = "artifacts"


@dataclass(frozen=True)
class PackageInfo:
    """What ``mloop-model.json`` says."""

    flavor: str
    options: dict[str, Any]
    mloop_version: str
    python_version: str
    signature: Signature | None
    requirements: list[str]
    files: dict[str, tuple[str, int]]
    """Every file of the package but the manifest: path → (blake3 digest, size)."""
    input_example: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    """Extra files by name → their path in the package."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "flavor": self.flavor,
            "options": self.options,
            "mloop_version": self.mloop_version,
            "python_version": self.python_version,
            "signature": None if self.signature is None else self.signature.to_dict(),
            "requirements": self.requirements,
            "input_example": self.input_example,
            "artifacts": self.artifacts,
            "files": {
                path: {"digest": digest, "size": size}
                for path, (digest, size) in sorted(self.files.items())
            },
        }

    @classmethod
    def from_dict(cls, data: Any) -> PackageInfo:
        if not isinstance(data, dict) or not isinstance(data.get("format"), str):
            raise InvalidArgument(f"{MANIFEST_NAME} is not an mloop model manifest")
        if data["format"] != FORMAT:
            raise InvalidArgument(
                f"{MANIFEST_NAME} has format {data['format']!r}; this mloop reads {FORMAT!r}: "
                f"the package was made by mloop {data.get('mloop_version', '?')}, upgrade mloop"
            )
        try:
            signature = data.get("signature")
            return cls(
                flavor=str(data["flavor"]),
                options=dict(data["options"]),
                mloop_version=str(data["mloop_version"]),
                python_version=str(data["python_version"]),
                signature=None if signature is None else Signature.from_dict(signature),
                requirements=[str(item) for item in data["requirements"]],
                files={
                    check_entry_path(path): (str(entry["digest"]), int(entry["size"]))
                    for path, entry in data["files"].items()
                },
                input_example=data.get("input_example"),
                artifacts={str(k): check_entry_path(v) for k, v in data["artifacts"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidArgument(f"{MANIFEST_NAME} is malformed: {exc!r}") from None


@dataclass(frozen=True)
class Contents:
    """What goes into a package besides the model itself."""

    signature: Signature | None = None
    input_example: pd.DataFrame | None = None
    requirements: list[str] = field(default_factory=list)
    artifacts: Mapping[str, Path] = field(default_factory=dict)


def write_package(folder: Path, model: Any, flavor: Flavor, contents: Contents) -> PackageInfo:
    """Write the package of ``model`` into the new or empty ``folder``."""
    (folder / MODEL_DIR).mkdir(parents=True)
    options = flavor.save(model, folder / MODEL_DIR)
    example = None
    if contents.input_example is not None:
        contents.input_example.to_parquet(folder / EXAMPLE, index=False)
        example = EXAMPLE
    artifacts = {
        name: _copy_artifact(source, folder / ARTIFACTS_DIR / name)
        for name, source in contents.artifacts.items()
    }
    (folder / REQUIREMENTS).write_text("".join(f"{r}\n" for r in contents.requirements))
    info = PackageInfo(
        flavor=flavor.name,
        options=options,
        mloop_version=metadata.version("mloop"),
        python_version=platform.python_version(),
        signature=contents.signature,
        requirements=list(contents.requirements),
        files=_digests(folder),
        input_example=example,
        artifacts={name: f"{ARTIFACTS_DIR}/{name}" for name in artifacts},
    )
    text = json.dumps(info.to_dict(), indent=2, sort_keys=True, allow_nan=False)
    (folder / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")
    return info


def _copy_artifact(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    elif source.is_file():
        shutil.copyfile(source, target)
    else:
        raise NotFound(f"artifact {source} does not exist")
    return target


def _digests(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        file.entry: (hash_file(file.path).hex, file.stat.st_size)
        for file in walk_files(folder)
        if file.entry != MANIFEST_NAME
    }


def read_package(folder: Path) -> PackageInfo:
    """The manifest of the package in ``folder``, after checking every file it lists."""
    info = read_manifest(folder)
    verify(folder, info)
    return info


def read_manifest(folder: Path) -> PackageInfo:
    """The manifest of the package in ``folder``, unchecked."""
    path = folder / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgument(
            f"{folder} is not an mloop model package: it has no {MANIFEST_NAME}"
        ) from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise InvalidArgument(f"{path} is not an mloop model manifest") from None
    try:
        return PackageInfo.from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{path} is not valid JSON: {exc}") from None


def verify(folder: Path, info: PackageInfo) -> None:
    """Raise IntegrityError, naming the file, if a file of the package changed or is missing."""
    for entry, (digest, size) in sorted(info.files.items()):
        path = folder / entry
        try:
            found = os.stat(path).st_size
        except FileNotFoundError:
            raise IntegrityError(f"model package {folder}: the file {entry} is missing") from None
        if found != size or hash_file(path).hex != digest:
            raise IntegrityError(
                f"model package {folder}: the file {entry} was altered "
                f"(its bytes no longer match the digest {digest[:12]} in {MANIFEST_NAME}); "
                "the package is refused"
            )
