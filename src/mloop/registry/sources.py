"""What can be registered: a logged package (``runs:/``), a run id, or another version."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mloop.blobs import Digest
from mloop.errors import InvalidArgument, NotFound
from mloop.models.package import MANIFEST_NAME
from mloop.models.refs import is_model_uri, resolve_version
from mloop.models.uris import resolve_package
from mloop.tracking.client import Client

_RUN_ID = re.compile(r"[0-9a-fA-F]{4,32}")


@dataclass(frozen=True, slots=True)
class PackageSource:
    package: str
    flavor: str
    signature: str | None
    run_id: str | None
    uri: str


def package_source(client: Client, source: Any, project: str) -> PackageSource:
    """The package ``source`` names, with the facts a model version records."""
    if isinstance(source, str) and is_model_uri(source.strip()):
        found = resolve_version(client.store, source, project)
        return PackageSource(found.package, found.flavor, found.signature, found.run_id, found.uri)
    uri = _uri(client, source)
    digest = resolve_package(client, uri)
    flavor, signature = _facts(client, digest)
    run_id = client.resolve_run_id(uri.removeprefix("runs:/").split("/", 1)[0])
    return PackageSource(str(digest), flavor, signature, run_id, uri)


def _uri(client: Client, source: Any) -> str:
    uri = getattr(source, "uri", source)
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidArgument(
            "register a logged model: pass what mloop.models.log returned, a runs:/RUN/PATH "
            f"URI, a run id or a models:/ URI, got {type(source).__name__}"
        )
    uri = uri.strip()
    if _RUN_ID.fullmatch(uri):
        return f"runs:/{client.resolve_run_id(uri)}/model"
    if not uri.startswith("runs:/"):
        raise InvalidArgument(
            f"{uri!r} is not a logged model: use runs:/RUN/PATH, a run id or models:/NAME/N"
        )
    return uri


def _facts(client: Client, digest: Digest) -> tuple[str, str | None]:
    """The flavor and the signature (JSON text) from the package's own manifest."""
    entries = {e.path: e for e in client.blobs.get_manifest(digest).entries}
    entry = entries.get(MANIFEST_NAME)
    if entry is None:
        raise NotFound(f"{digest} is a folder, not a model package: it has no {MANIFEST_NAME}")
    meta = json.loads(client.blobs.get_bytes(entry.digest))
    signature = meta.get("signature")
    return str(meta["flavor"]), None if signature is None else json.dumps(signature)
