"""``python -m tests.pipeline.slow_reos …``: the ``reos`` command whose pipeline chunks
hold their transaction open ``REOS_TEST_CHUNK_PAUSE_S`` seconds after the stage's work
and before the commit, so a test's ``kill -9`` lands inside a chunk. The pause lives
here, in the tests, not in the product."""

from __future__ import annotations

import os
import time
from typing import Any

from reos.pipeline import service

PAUSE_S = float(os.environ.get("REOS_TEST_CHUNK_PAUSE_S") or 0)
_run_stage = service._run_stage


def _slow_run_stage(*args: Any, **kwargs: Any) -> Any:
    result = _run_stage(*args, **kwargs)
    if PAUSE_S > 0:
        time.sleep(PAUSE_S)
    return result


service._run_stage = _slow_run_stage  # type: ignore[assignment]

if __name__ == "__main__":
    from reos.__main__ import main

    main()
