"""The quickstart example runs as the docs say: in a fresh workspace, to the end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_the_quickstart_runs_in_a_fresh_workspace(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "mloop", "init"], cwd=tmp_path, check=True)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "served" in done.stdout
