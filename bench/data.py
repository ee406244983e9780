"""Benchmark: ``data add`` of a large file and of many small files (against ``dvc add``),
and profiling a table.

Prints one JSON line:
- file_cold_gb_per_s: ``DataClient.add`` of one file of random bytes (1 GiB) into a fresh
  workspace, so the blob store is empty; the file is in the page cache, as right after a
  job writes it;
- file_unchanged_s: adding the same, unchanged file again (it must make no new version);
- small_files_cold_s, small_files_unchanged_s: the same for a folder of 20,000 files of
  10 KiB in 100 sub-folders;
- file_checkout_s, small_files_checkout_s: ``DataClient.checkout`` of each into a new
  folder, every file verified; independent copies (reflinks where the filesystem has them,
  none on ext4), the default; *_checkout_link_s: the same with ``link=True`` (hardlinks
  into the store, for readers only);
- profile_s: ``profile_table`` on a 1,000,000 x 25 Arrow table (10 float columns with a
  few nulls, 8 int, 5 low-cardinality string, 1 bool, 1 high-cardinality string);
- dvc_*: the four add timings for ``dvc add`` in a fresh ``dvc init --no-scm``
  repository (its default cache, copies on this filesystem), and dvc_version. These time the
  command line, so each includes DVC's start-up, reported apart as dvc_startup_s (a
  ``dvc config`` read in the repository); the mloop figures are in-process calls.

The data lives in one project folder under the system's temporary folder (on the same
disk as the repository here). mloop's workspace is a real one, made by the ``mloop`` console
script next to this Python (``mloop init``); the Client gets its database and blob folder
explicitly (so MLOOP_URI or MLOOP_BLOBS in the environment cannot redirect it) and runs with
the workspace as current folder, so the hash cache in ``.mloop/cache/`` is used. "Fresh"
means the tool's state is deleted and made again before each cold run. Generating the data
and making workspaces are not timed; dirty pages are flushed before each timed run. Every
figure is the best of ``--repeat`` runs: this VM's disk makes file creation vary 2-3x from
one run to the next.

    python bench/data.py [--size-mib 1024] [--files 20000] [--file-kib 10] [--rows 1000000]
                         [--repeat 1] [--only {file,small,profile}]... [--skip-dvc]
                         [--skip-mloop] [--dvc PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mloop import workspace as ws
from mloop.data import DataClient
from mloop.data.profile import profile_table
from mloop.tracking.client import Client

CHUNK = 64 << 20
FOLDERS = 100
PARTS = ("file", "small", "profile")
DVC_VENV = Path("/opt/dvc-venv/bin/dvc")


# -- data (not timed) -----------------------------------------------------------------------
def write_big_file(path: Path, size: int) -> None:
    generate = np.random.default_rng(0).bytes
    with path.open("wb") as out:
        for start in range(0, size, CHUNK):
            out.write(generate(min(CHUNK, size - start)))


def write_small_files(root: Path, count: int, size: int) -> None:
    """``count`` files of ``size`` random bytes, spread over ``FOLDERS`` sub-folders."""
    generate = np.random.default_rng(1).bytes
    folders = [root / f"part-{n:03d}" for n in range(min(FOLDERS, count))]
    for folder in folders:
        folder.mkdir(parents=True)
    for n in range(count):
        (folders[n % len(folders)] / f"{n:06d}.bin").write_bytes(generate(size))


def read_all(path: Path) -> None:
    """Read every file under ``path`` once, so the timed runs read from the page cache."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        with file.open("rb") as source:
            while source.read(CHUNK):
                pass


def make_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(2)
    columns: dict[str, pa.Array] = {}
    for k in range(10):
        values = rng.normal(k, 1 + k, rows)
        columns[f"float_{k}"] = pa.array(values, mask=rng.random(rows) < 0.01)
    for k in range(8):
        columns[f"int_{k}"] = pa.array(rng.integers(0, 10 ** (k + 1), rows))
    for k in range(5):
        levels = pa.array([f"level-{k}-{n}" for n in range(3 + 4 * k)])
        columns[f"category_{k}"] = levels.take(pa.array(rng.integers(0, len(levels), rows)))
    columns["flag"] = pa.array(rng.random(rows) < 0.3)
    ids = pc.cast(pa.array(rng.integers(0, 10**12, rows)), pa.string())
    columns["user_id"] = pc.binary_join_element_wise("user-", ids, "")
    return pa.table(columns)


# -- timing ---------------------------------------------------------------------------------
def best_of(repeat: int, run: Callable[[], object], setup: Callable[[], object]) -> float:
    """The fastest of ``repeat`` timed calls of ``run()``, in seconds.

    ``setup`` runs before each call, untimed, and so does a flush of dirty pages, so that the
    copies of earlier runs do not throttle later ones to the disk's write speed.
    """
    best = float("inf")
    for _ in range(repeat):
        setup()
        os.sync()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


class Tool(Protocol):
    name: str
    prefix: str  # of its keys in the JSON line

    def fresh(self) -> None:
        """Delete the tool's workspace state in the project and make a new, empty one."""

    def add(self, path: Path) -> bool:
        """Add ``path``; True when that made a new version."""

    def discard(self) -> None:
        """Delete the tool's workspace state."""


def time_adds(tool: Tool, path: Path, repeat: int) -> tuple[float, float]:
    """Best cold add (a fresh workspace each run) and best re-add of the unchanged data."""

    def expect(new: bool) -> None:
        if tool.add(path) != new:
            made = "made a new version" if not new else "made no new version"
            raise SystemExit(f"{tool.name}: adding {path.name} {made}")

    cold = best_of(repeat, lambda: expect(new=True), setup=tool.fresh)
    unchanged = best_of(repeat, lambda: expect(new=False), setup=lambda: None)
    return cold, unchanged


# -- the tools ------------------------------------------------------------------------------
class MloopWorkspace:
    """An mloop workspace in ``project``, made by ``mloop init``, and a Client on it."""

    name = "mloop"
    prefix = ""

    def __init__(self, project: Path) -> None:
        self.project = project
        self._open = contextlib.ExitStack()
        self._data: DataClient | None = None

    def fresh(self) -> None:
        self.discard()
        command = Path(sys.executable).parent / "mloop"
        env = {key: value for key, value in os.environ.items() if not key.startswith("MLOOP_")}
        run_quietly([str(command), "init", str(self.project)], env=env)
        self._open.enter_context(contextlib.chdir(self.project))
        uri, blobs = ws.database_uri(self.project), str(ws.blobs_root(self.project))
        client = self._open.enter_context(Client(uri, blobs=blobs))
        client.store.datasets.list_all()  # open the store now: time adding, not SQLAlchemy's import
        self._data = DataClient(client)

    def add(self, path: Path) -> bool:
        assert self._data is not None, "fresh() first"
        return self._data.add(path, name=path.name).created

    def checkout(self, path: Path, dest: Path, *, link: bool) -> None:
        assert self._data is not None, "fresh() first"
        self._data.checkout(path.name, dest, link=link)

    def discard(self) -> None:
        self._open.close()
        self._data = None
        shutil.rmtree(self.project / ws.DIRNAME, ignore_errors=True)


class DvcRepo:
    """A DVC repository (no git) in ``project``, driven through its command line."""

    name = "dvc"
    prefix = "dvc_"

    def __init__(self, project: Path, command: str, site: Path) -> None:
        self.project = project
        self.command = command
        # Its hash and link databases would otherwise live in /var/tmp/dvc, outliving the
        # benchmark and remembering the data's hashes from one "fresh" repository to the next.
        self.site = site
        self._env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(site)}

    def dvc(self, *args: str) -> str:
        return run_quietly([self.command, *args], cwd=self.project, env=self._env)

    def fresh(self) -> None:
        self.discard()
        self.dvc("init", "--no-scm", "-q")
        self.dvc("config", "core.analytics", "false")

    def add(self, path: Path) -> bool:
        record = path.with_name(path.name + ".dvc")
        before = record.read_text() if record.exists() else None
        self.dvc("add", "-q", path.name)
        return record.read_text() != before

    def discard(self) -> None:
        shutil.rmtree(self.project / ".dvc", ignore_errors=True)
        shutil.rmtree(self.site, ignore_errors=True)
        for leftover in (self.project / ".dvcignore", *self.project.glob("*.dvc")):
            leftover.unlink(missing_ok=True)


def run_quietly(command: list[str], **options: Any) -> str:
    done: subprocess.CompletedProcess[str] = subprocess.run(
        command, capture_output=True, text=True, check=False, **options
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def find_dvc() -> str | None:
    found = shutil.which("dvc")
    return found or (str(DVC_VENV) if DVC_VENV.exists() else None)


# -- the benchmark --------------------------------------------------------------------------
def measure_tool(tool: Tool, data: dict[str, Path], repeat: int) -> dict[str, float]:
    key = tool.prefix
    found: dict[str, float] = {}
    try:
        if "file" in data:
            cold, unchanged = time_adds(tool, data["file"], repeat)
            found[f"{key}file_cold_gb_per_s"] = round(data["file"].stat().st_size / cold / 1e9, 2)
            found[f"{key}file_unchanged_s"] = round(unchanged, 3)
        if "small" in data:
            cold, unchanged = time_adds(tool, data["small"], repeat)
            found[f"{key}small_files_cold_s"] = round(cold, 3)
            found[f"{key}small_files_unchanged_s"] = round(unchanged, 3)
    finally:
        tool.discard()
    return found


def measure_checkouts(tool: MloopWorkspace, data: dict[str, Path], repeat: int) -> dict[str, float]:
    """Check out each added data set into a new folder, as copies and as hardlinks."""
    names = {"file": "file", "small": "small_files"}
    found: dict[str, float] = {}
    dest = tool.project / "checkout"
    tool.fresh()
    try:
        for part, path in data.items():
            tool.add(path)
            for link, suffix in ((False, ""), (True, "_link")):
                seconds = best_of(
                    repeat,
                    lambda: tool.checkout(path, dest, link=link),  # noqa: B023
                    setup=lambda: shutil.rmtree(dest, ignore_errors=True),
                )
                found[f"{names[part]}_checkout{suffix}_s"] = round(seconds, 3)
        shutil.rmtree(dest, ignore_errors=True)
    finally:
        tool.discard()
    return found


def measure_dvc(command: str, project: Path, data: dict[str, Path], repeat: int) -> dict[str, Any]:
    repo = DvcRepo(project, command, site=project.parent / "dvc-site")
    found: dict[str, Any] = {"dvc_version": repo.dvc("--version")}
    repo.fresh()
    startup = best_of(max(repeat, 3), lambda: repo.dvc("config", "core.analytics"), lambda: None)
    found["dvc_startup_s"] = round(startup, 3)
    return found | measure_tool(repo, data, repeat)


def measure_profile(rows: int, repeat: int) -> dict[str, Any]:
    table = make_table(rows)
    seconds = best_of(repeat, lambda: profile_table(table), setup=lambda: None)
    return {
        "profile_rows": table.num_rows,
        "profile_columns": table.num_columns,
        "profile_s": round(seconds, 3),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=1024, help="the large file's size")
    parser.add_argument("--files", type=int, default=20_000, help="small files in the folder")
    parser.add_argument("--file-kib", type=int, default=10, help="size of each small file")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the profiled table")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement, best kept")
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part")
    parser.add_argument("--skip-dvc", action="store_true", help="do not measure DVC")
    parser.add_argument("--skip-mloop", action="store_true", help="measure DVC's adds only")
    parser.add_argument("--dvc", default=find_dvc(), help="the dvc command (default: %(default)s)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    parts = set(args.only or PARTS)
    if args.dvc is None and not args.skip_dvc and parts & {"file", "small"}:
        print("dvc not found (pass --dvc PATH): measuring mloop only", file=sys.stderr)
    found: dict[str, Any] = {"bench": "data", "repeat": args.repeat}
    with tempfile.TemporaryDirectory(prefix="mloop-bench-data-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        data: dict[str, Path] = {}
        if "file" in parts:
            data["file"] = project / "big.bin"
            write_big_file(data["file"], args.size_mib << 20)
            found["file_bytes"] = args.size_mib << 20
        if "small" in parts:
            data["small"] = project / "small"
            write_small_files(data["small"], args.files, args.file_kib << 10)
            found |= {"small_files": args.files, "small_file_bytes": args.file_kib << 10}
        for path in data.values():
            read_all(path)
        if data and not args.skip_mloop:
            found |= measure_tool(MloopWorkspace(project), data, args.repeat)
            found |= measure_checkouts(MloopWorkspace(project), data, args.repeat)
        if data and args.dvc and not args.skip_dvc:
            found |= measure_dvc(args.dvc, project, data, args.repeat)
    if "profile" in parts:
        found |= measure_profile(args.rows, args.repeat)
    print(json.dumps(found))


if __name__ == "__main__":
    main()
