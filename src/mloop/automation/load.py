"""Where policies come from: ``mloop.yaml``, another YAML file, or Python (``module:name``)."""

from __future__ import annotations

from pathlib import Path

from mloop.automation.policy import Policy
from mloop.automation.policyfile import POLICY_FILE, load_policy_file
from mloop.errors import InvalidArgument, NotFound
from mloop.imports import import_object


def load_policies(source: str | Path | None = None) -> list[Policy]:
    """The policies in ``source``: a YAML file, or ``module:name`` naming a Policy or a
    list of them (the current folder is importable); by default ``./mloop.yaml``."""
    if source is None:
        path = Path(POLICY_FILE)
        if not path.is_file():
            raise NotFound(
                f"no {POLICY_FILE} here ({Path.cwd()}): write one (see `mloop agent --help`) "
                "or name the policies with --policy FILE or --policy module:name"
            )
        return load_policy_file(path)
    text = str(source)
    if isinstance(source, Path) or text.endswith((".yaml", ".yml")) or Path(text).is_file():
        return load_policy_file(Path(text))
    return _from_python(text)


def _from_python(reference: str) -> list[Policy]:
    found = import_object(reference, "policies as a YAML file or module:name (a Policy or a list)")
    policies = [found] if isinstance(found, Policy) else found
    if not isinstance(policies, list | tuple) or not all(isinstance(p, Policy) for p in policies):
        raise InvalidArgument(f"{reference} is not a Policy or a list of Policy values")
    return list(policies)
