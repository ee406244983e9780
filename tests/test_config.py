"""Settings precedence: flag > environment > workspace file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from mloop.config import resolve_settings
from mloop.errors import AlreadyExists, InvalidArgument, NotFound
from mloop.workspace import create_workspace


def test_workspace_is_found_from_a_subfolder(tmp_path: Path) -> None:
    create_workspace(tmp_path)
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    settings = resolve_settings(cwd=deep, env={})
    assert settings.workspace == tmp_path.resolve()
    assert settings.uri == f"sqlite:///{tmp_path.resolve() / '.mloop' / 'mloop.db'}"
    assert settings.blobs == str(tmp_path.resolve() / ".mloop" / "blobs")


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    home = create_workspace(tmp_path)
    (home / "config.toml").write_text(
        'uri = "file.db"\nblobs = "file-blobs"\nexperiment = "from-file"\n'
    )
    from_file = resolve_settings(cwd=tmp_path, env={})
    assert from_file.uri == f"sqlite:///{(tmp_path / 'file.db').resolve()}"
    assert from_file.blobs == str((tmp_path / "file-blobs").resolve())
    assert from_file.experiment == "from-file"
    env = {
        "MLOOP_URI": "sqlite:////env.db",
        "MLOOP_BLOBS": "s3://bucket/env",
        "MLOOP_EXPERIMENT": "e",
    }
    from_env = resolve_settings(cwd=tmp_path, env=env)
    assert (from_env.uri, from_env.blobs, from_env.experiment) == (
        "sqlite:////env.db",
        "s3://bucket/env",
        "e",
    )
    from_flag = resolve_settings("postgresql://h/db", "/flag", cwd=tmp_path, env=env)
    assert (from_flag.uri, from_flag.blobs) == ("postgresql://h/db", "/flag")


def test_no_workspace_and_no_uri_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="mloop init"):
        resolve_settings(cwd=tmp_path, env={})


def test_postgres_without_blobs_has_no_blob_root(tmp_path: Path) -> None:
    settings = resolve_settings(cwd=tmp_path, env={"MLOOP_URI": "postgresql://h/db"})
    assert settings.blobs is None


@pytest.mark.parametrize(
    ("content", "message"),
    [("uri = [unclosed", "cannot read"), ('colour = "blue"\n', "unknown setting")],
)
def test_bad_workspace_file_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    home = create_workspace(tmp_path)
    (home / "config.toml").write_text(content)
    with pytest.raises(InvalidArgument, match=message):
        resolve_settings(cwd=tmp_path, env={})


def test_unsupported_uri_scheme(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="unsupported store URI scheme 'mysql'"):
        resolve_settings("mysql://h/db", cwd=tmp_path, env={})


def test_a_workspace_can_point_at_another_store(tmp_path: Path) -> None:
    create_workspace(tmp_path, uri="sqlite:////srv/shared.db", blobs="s3://ml/blobs")
    settings = resolve_settings(cwd=tmp_path, env={})
    assert (settings.uri, settings.blobs) == ("sqlite:////srv/shared.db", "s3://ml/blobs")


def test_init_twice_is_refused(tmp_path: Path) -> None:
    create_workspace(tmp_path)
    with pytest.raises(AlreadyExists):
        create_workspace(tmp_path)


def test_a_settings_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    home = create_workspace(tmp_path)
    (home / "config.toml").write_bytes(b'uri = "\xff\xfe"\n')
    with pytest.raises(InvalidArgument, match="cannot read"):
        resolve_settings(cwd=tmp_path, env={})


def test_relative_and_driver_qualified_sqlite_uris(tmp_path: Path) -> None:
    settings = resolve_settings("sqlite:///rel.db", cwd=tmp_path, env={})
    assert settings.uri == f"sqlite:///{Path('rel.db').resolve()}"
    qualified = resolve_settings(f"sqlite+pysqlite:///{tmp_path}/m.db", cwd=tmp_path, env={})
    assert qualified.blobs == str(tmp_path / "blobs")
