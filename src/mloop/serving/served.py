"""A model loaded for serving, and the routing of requests among the loaded models."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mloop.models.load import LoadedModel
from mloop.serving.payload import (
    DEFAULT_LIMITS,
    FrameBuilder,
    Limits,
    Parser,
    Rows,
    loose_frame,
    loose_parse,
)


@dataclass(frozen=True, slots=True)
class Scores:
    """A model's answers for a batch of rows."""

    predictions: np.ndarray
    proba: np.ndarray | None


@dataclass(eq=False)
class ServedModel:
    """One loaded package, with what it takes to parse and score requests for it."""

    label: str
    """How responses name it: ``models:/NAME/N``, ``runs:/...`` or a package digest."""
    package: str
    loaded: LoadedModel
    version_id: int | None = None
    name: str | None = None
    version: int | None = None
    limits: Limits = DEFAULT_LIMITS
    parser: Parser | None = field(init=False)
    frame: FrameBuilder | None = field(init=False)
    classes: list[Any] | None = field(init=False)
    json_classes: list[Any] | None = field(init=False)
    """The classes as plain JSON values, for answers."""

    def __post_init__(self) -> None:
        signature = self.loaded.signature
        self.parser = None if signature is None else Parser(signature, self.limits)
        self.frame = None if signature is None else FrameBuilder(signature)
        self.classes = self.loaded.classes if self.loaded.has_proba else None
        self.json_classes = _plain(self.classes)

    def parse(self, body: bytes) -> Rows:
        if self.parser is None:
            return loose_parse(body, self.limits)
        return self.parser.parse(body)

    def to_frame(self, rows: Rows) -> pd.DataFrame:
        return loose_frame(rows) if self.frame is None else self.frame(rows)

    @property
    def frames_match(self) -> bool:
        """Whether :meth:`to_frame` builds frames that match the signature as they are."""
        return self.frame is not None and self.frame.all_float

    def score(self, frame: pd.DataFrame, *, checked: bool = False) -> Scores:
        """Predictions (and probabilities, for a classifier that has them). ``checked``:
        the frame already matches the signature exactly (built by :meth:`to_frame`)."""
        model = self.loaded
        signature = model.signature
        ready = frame if signature is None or checked else signature.enforce(frame)
        predictions, proba = model.predictor.predict_both(ready)
        return Scores(np.asarray(predictions), proba)

    def warm(self) -> None:
        """Score the logged input example once, so the first request is not the slow one."""
        example = self.loaded.input_example
        if example is not None and len(example):
            self.score(example.head(8))

    def describe(self) -> dict[str, Any]:
        signature = self.loaded.signature
        return {
            "model": self.label,
            "name": self.name,
            "version": self.version,
            "package": self.package,
            "flavor": self.loaded.flavor,
            "classes": self.json_classes,
            "signature": None if signature is None else signature.to_dict(),
        }


def _plain(values: list[Any] | None) -> list[Any] | None:
    return None if values is None else [v.item() if hasattr(v, "item") else v for v in values]


@dataclass(frozen=True, eq=False)
class Routing:
    """Which loaded models answer, by weight, and which one shadows them (immutable:
    a change builds a new Routing and swaps it in whole)."""

    primary: tuple[tuple[ServedModel, int], ...]
    shadow: ServedModel | None = None
    deployment: str | None = None
    revision: int | None = None
    _cumulative: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        total, points = 0, []
        for _, weight in self.primary:
            total += weight
            points.append(total)
        object.__setattr__(self, "_cumulative", tuple(p / total for p in points))

    def pick(self) -> ServedModel:
        if len(self.primary) == 1:
            return self.primary[0][0]
        draw = random.random()
        for (served, _), point in zip(self.primary, self._cumulative, strict=True):
            if draw < point:
                return served
        return self.primary[-1][0]

    @property
    def models(self) -> list[ServedModel]:
        found = [served for served, _ in self.primary]
        return found if self.shadow is None else [*found, self.shadow]

    def describe(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "revision": self.revision,
            "routes": [{**served.describe(), "weight": weight} for served, weight in self.primary],
            "shadow": None if self.shadow is None else self.shadow.describe(),
        }
