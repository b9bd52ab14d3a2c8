"""Fixtures: the Ames sample converted to the engine's sales frame (stand-in importer)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

_FRAMES = Path(__file__).resolve().parents[2] / "benchmarks" / "avm_frames.py"
_spec = importlib.util.spec_from_file_location("avm_frames", _FRAMES)
assert _spec is not None and _spec.loader is not None
avm_frames = importlib.util.module_from_spec(_spec)
sys.modules["avm_frames"] = avm_frames
_spec.loader.exec_module(avm_frames)


@pytest.fixture(scope="session")
def ames() -> pd.DataFrame:
    return avm_frames.ames_frame()


@pytest.fixture(scope="session")
def ames_small(ames: pd.DataFrame) -> pd.DataFrame:
    """A 900-sale subset (2008-01 to 2010-07) for fast end-to-end tests."""
    recent = ames[ames["close_date"] >= "2008-01-01"]
    return recent.sample(n=900, random_state=3).reset_index(drop=True)


@pytest.fixture(scope="session")
def small_model(ames_small: pd.DataFrame):  # type: ignore[no-untyped-def]
    from reos.valuation.engine import train

    return train(ames_small[ames_small["close_date"] < "2010-01-01"], "2010-01-01")
