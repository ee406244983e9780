"""Error texts as HTTP clients see them: without the server's paths and store URIs.

A reason such as "no model package a21c… in the blob store /srv/mloop/blobs" tells a
client what is wrong; where the server keeps its files is for its own log, which keeps
the whole text. Model URIs (``models:/churn@champion``, ``runs:/…``) are not paths and
are kept.
"""

from __future__ import annotations

import re

_URI = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://[^\s'\"<>]*")
_PATH = re.compile(
    r"(?<![\w:/.~-])(?:~|\.{1,2})?/[^\s'\"<>()\[\]{},;]+"  # /srv/x, ~/x, ./x
    r"|\b[A-Za-z]:\\[^\s'\"<>]+"  # C:\x
)


def redact(text: str) -> str:
    """``text`` with absolute and relative paths as ``<path>`` and URIs as ``scheme://…``."""
    text = _URI.sub(lambda found: f"{found.group(1)}://…", text)
    return _PATH.sub(_path, text)


def _path(found: re.Match[str]) -> str:
    path = found.group()
    kept = path.rstrip(".:,;!?")
    return "<path>" + path[len(kept) :]
