"""The registry through its public API: what users register, find, move, and get wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mloop.errors import Conflict, InvalidArgument, NotFound
from mloop.models import ModelInfo, load
from mloop.registry import Registry
from mloop.registry.card_render import to_html, to_markdown
from mloop.store import AliasAction, ModelVersionStatus
from mloop.tracking.client import Client

Data = tuple[pd.DataFrame, pd.Series]


def _state(registry: Registry) -> tuple[object, ...]:
    """Everything the registry holds, to show a refused call changed nothing."""
    models = registry.models()
    return (
        models,
        [registry.versions(m.name) for m in models],
        [registry.history(m.name) for m in models],
    )


def test_every_way_of_naming_a_package_registers_it(
    registry: Registry, client: Client, logged: list[ModelInfo]
) -> None:
    first = registry.register(logged[0], "cancer", description="strong L2", tags={"team": "a"})
    second = registry.register(logged[1].uri, "cancer")
    third = registry.register(logged[1].run_id, "cancer")  # its package logged as 'model'
    copy = registry.register("models:/cancer/1", "cancer-prod")
    assert [v.version for v in (first, second, third, copy)] == [1, 2, 3, 1]
    assert first.run_id == logged[0].run_id and first.package == logged[0].digest
    assert first.flavor == "sklearn" and first.tags == {"team": "a"}
    assert copy.package == first.package and copy.run_id == first.run_id
    assert second.package == third.package  # the same package twice is two versions
    assert registry.model("cancer").latest == 3
    assert [m.name for m in registry.models()] == ["cancer", "cancer-prod"]


def test_a_registered_version_loads_by_number_alias_and_latest(
    registry: Registry, client: Client, logged: list[ModelInfo], cancer: Data
) -> None:
    X = cancer[0].head(20)
    for info in logged:
        registry.register(info, "cancer")
    registry.promote("cancer/1")
    expected = [load(info.uri, client=client).predict(X) for info in logged]
    for uri, want in (
        ("models:/cancer/1", expected[0]),
        ("models:/cancer@champion", expected[0]),
        ("models:/cancer@latest", expected[1]),
        ("models:/cancer/2", expected[1]),
    ):
        np.testing.assert_array_equal(load(uri, client=client).predict(X), want)


def test_aliases_promote_roll_back_and_remember_why(
    registry: Registry, logged: list[ModelInfo]
) -> None:
    for info in logged:
        registry.register(info, "cancer")
    registry.set_alias("cancer/2", "challenger", reason="try it")
    registry.promote("cancer/1", reason="baseline")
    registry.promote("cancer@challenger", reason="won the gate")
    assert registry.model("cancer").aliases == {"champion": 2, "challenger": 2}
    back = registry.rollback("cancer", reason="latency")
    assert (back.version, back.previous, back.action) == (1, 2, AliasAction.ROLLBACK)
    registry.remove_alias("cancer", "challenger")
    history = registry.history("cancer")
    assert [(e.alias, e.version, e.reason) for e in history] == [
        ("challenger", 2, "try it"),
        ("champion", 1, "baseline"),
        ("champion", 2, "won the gate"),
        ("champion", 1, "latency"),
        ("challenger", None, ""),
    ]
    assert [e.alias for e in registry.history("cancer", "champion")] == ["champion"] * 3
    assert registry.version("cancer@champion").version == 1


def test_archived_versions_keep_their_package_but_take_no_alias(
    registry: Registry, logged: list[ModelInfo]
) -> None:
    for info in logged:
        registry.register(info, "cancer")
    archived = registry.archive("cancer/2")
    assert archived.status is ModelVersionStatus.ARCHIVED
    assert registry.version("cancer").version == 1  # latest skips archived versions
    with pytest.raises(Conflict, match="archived"):
        registry.promote("cancer/2")
    assert registry.restore("cancer/2").status is ModelVersionStatus.READY
    assert registry.promote("cancer/2").version == 2


def test_descriptions_and_tags_change_and_search_finds_them(
    registry: Registry, logged: list[ModelInfo]
) -> None:
    for info in logged:
        registry.register(info, "cancer")
    registry.register(logged[0], "spam")
    registry.update_model("cancer", description="breast cancer screening", tags={"team": "bio"})
    registry.update_version("cancer/2", tags={"stage": "candidate"})
    registry.promote("cancer/1")
    assert registry.model("cancer").description == "breast cancer screening"
    assert registry.version("cancer/2").tags == {"stage": "candidate"}

    def found(*args: str | None, **kwargs: object) -> list[str]:
        return [v.uri for v in registry.search(*args, **kwargs)]  # type: ignore[arg-type]

    assert found("canc*") == ["models:/cancer/2", "models:/cancer/1"]
    assert found(tags={"team": "bio"}) == ["models:/cancer/2", "models:/cancer/1"]
    assert found(tags={"stage": "candidate"}) == ["models:/cancer/2"]
    assert found(alias="champion") == ["models:/cancer/1"]
    assert found(metric="auc", at_least=0.905) == ["models:/cancer/2"]
    assert found("spam", metric="auc") == ["models:/spam/1"]
    registry.update_version("cancer/2", tags={"stage": ""})  # an empty value deletes the tag
    assert registry.version("cancer/2").tags == {}


def test_unknown_models_versions_and_aliases_are_named(
    registry: Registry, logged: list[ModelInfo]
) -> None:
    registry.register(logged[0], "cancer")
    registry.promote("cancer/1")
    before = _state(registry)
    with pytest.raises(NotFound, match="no registered model named 'cancr'"):
        registry.version("cancr/1")
    with pytest.raises(NotFound, match=r"cancer.* has no version 7"):
        registry.version("models:/cancer/7")
    with pytest.raises(NotFound, match=r"has no alias @staging .*@champion"):
        registry.version("cancer@staging")
    with pytest.raises(NotFound, match="has no version 7"):
        registry.promote("cancer/7")
    with pytest.raises(NotFound, match="has no version 9"):
        registry.set_alias("cancer/9", "challenger")
    with pytest.raises(NotFound, match="cancr"):
        registry.rollback("cancr")
    with pytest.raises(Conflict, match="no earlier version to roll back to"):
        registry.rollback("cancer")
    with pytest.raises(InvalidArgument, match="version numbers start at 1"):
        registry.version("cancer/0")
    with pytest.raises(InvalidArgument):
        registry.set_alias("cancer/1", "latest")  # reserved: it means the newest version
    assert _state(registry) == before


def test_what_is_not_a_logged_model_registers_nothing(
    registry: Registry, client: Client, logged: list[ModelInfo], tmp_path: Path
) -> None:
    run = logged[0].run_id
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.json").write_text("{}")
    client.log_artifact(run, tmp_path / "notes")
    cases: list[tuple[object, type[Exception], str]] = [
        (42, InvalidArgument, "pass what mloop.models.log returned"),
        ("s3://bucket/model.pkl", InvalidArgument, "is not a logged model"),
        (f"runs:/{run}/nothing", NotFound, "has no artifact 'nothing'"),
        (f"runs:/{run}/notes", NotFound, "not a model package"),
        ("runs:/ffffffff/model", NotFound, "no run whose id starts with 'ffffffff'"),
        ("models:/ghost/1", NotFound, "no registered model named 'ghost'"),
    ]
    for source, error, message in cases:
        with pytest.raises(error, match=message):
            registry.register(source, "cancer")
    with pytest.raises(InvalidArgument, match="tag"):
        registry.register(logged[0], "cancer", tags={"": "empty key"})
    with pytest.raises(InvalidArgument, match="model name"):
        registry.register(logged[0], "has space")
    assert registry.models() == []


def test_the_card_says_what_it_knows_and_what_it_does_not(
    registry: Registry, logged: list[ModelInfo]
) -> None:
    registry.register(logged[0], "cancer")
    registry.update_version("cancer/1", tags={"mloop.card.intended_use": "Triage <b>only</b>."})
    card = registry.card("cancer/1")
    markdown = to_markdown(card)
    assert markdown.startswith("# Model card: cancer version 1")
    assert "Triage &lt;b>only&lt;/b>." in markdown  # text, never markup
    assert "Not stated by the owner." in markdown  # limitations were never given
    assert "C=0.01" in markdown  # the run's params, through lineage
    page = to_html(card)
    assert page.lower().startswith("<!doctype html>") and "Triage &lt;b&gt;only&lt;/b&gt;." in page
