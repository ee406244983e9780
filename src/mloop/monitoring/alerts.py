"""Alerts: a log line for every monitor event, and an optional signed webhook.

The webhook gets a JSON POST per event, retried with exponential backoff (0.5 s,
1 s, 2 s) on connection errors and 5xx answers. When the environment variable the
monitor names (``MLOOP_WEBHOOK_SECRET`` by default) is set, the body is signed:
``X-Mloop-Signature: sha256=<hex HMAC-SHA256 of the body>``, so the receiver can
check that the alert came from mloop. A webhook that keeps failing is logged, never
fatal: the result and its events are stored before any alert is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("mloop.monitoring")

SIGNATURE_HEADER = "X-Mloop-Signature"
DEFAULT_SECRET_ENV = "MLOOP_WEBHOOK_SECRET"
BACKOFF = (0.5, 1.0, 2.0)


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(
    url: str,
    payload: Mapping[str, Any],
    *,
    secret_env: str = DEFAULT_SECRET_ENV,
    timeout: float = 5.0,
    backoff: tuple[float, ...] = BACKOFF,
) -> bool:
    """POST ``payload`` to ``url``; True once it was accepted (2xx)."""
    body = json.dumps(payload, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "X-Mloop-Event": str(payload.get("kind"))}
    secret = os.environ.get(secret_env)
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    for attempt, pause in enumerate((0.0, *backoff)):
        time.sleep(pause)
        try:
            request = urllib.request.Request(url, body, headers, method="POST")
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if 200 <= response.status < 300:
                    return True
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code < 500:  # the receiver refused it: retrying will not help
                logger.warning("mloop: webhook %s refused the alert: HTTP %s", url, exc.code)
                return False
        except (urllib.error.URLError, OSError) as exc:
            logger.info("mloop: webhook %s attempt %d failed: %s", url, attempt + 1, exc)
    logger.warning("mloop: webhook %s did not take the alert after %d tries", url, len(backoff) + 1)
    return False
