"""``python -m mloop.pipelines.worker TASK_FILE``: run one step in a process of its own.

The ``subprocess`` executor writes each step call (the step, its literal inputs and
its upstream outputs) to a file with cloudpickle and runs this module on it; the
output (or the step's failure) comes back as JSON on stdout's last line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cloudpickle

from mloop.pipelines.execute import StepFailed, run_task


def main(path: str) -> int:
    task, upstream = cloudpickle.loads(Path(path).read_bytes())
    try:
        output = run_task(task, upstream)
    except StepFailed as exc:
        print(json.dumps({"failed": str(exc), "node": exc.node}))
        return 0
    print(json.dumps({"output": output}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
