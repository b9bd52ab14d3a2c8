"""The IRR solver against numpy-financial's own ``irr`` on flows with one sign change (where
the IRR exists and is unique), and its refusals."""

from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reos.underwriting.finance import irr


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=1, max_value=1e7),
    st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=40),
    st.floats(min_value=0, max_value=1e7),
)
def test_one_sign_change_gives_the_unique_irr(
    outlay: float, back: list[float], last: float
) -> None:
    flows = [-outlay, *back[:-1], back[-1] + last]
    if sum(flows[1:]) == 0:
        return
    got = irr(flows)
    assert got.value is not None and got.reason is None
    assert got.value >= -1 and got.value == got.value  # -1.0: a total loss, to float precision
    scale = sum(abs(f) for f in flows)

    def npv_at(rate: float) -> tuple[float, float]:
        """|NPV| at ``rate`` and the size of the flows discounted at it."""
        terms = [f / (1 + rate) ** t for t, f in enumerate(flows)]
        return abs(sum(terms)), sum(abs(x) for x in terms)

    if got.value > -0.99:  # nearer -100%, 1 + r itself has too few digits to check this way
        value, size = npv_at(got.value)
        assert value <= 1e-9 * size
    try:
        with np.errstate(all="ignore"):
            reference = float(npf.irr(flows))
    except np.linalg.LinAlgError:  # numpy-financial cannot solve flows this far apart
        reference = float("nan")
    if reference == reference and -0.99 < reference < 100 and -0.99 < got.value < 100:
        # at least as near a root as numpy-financial's answer (which, on some of these
        # flows, is a spurious 1023 = 102,300%)
        assert npv_at(got.value)[0] <= npv_at(reference)[0] + 1e-9 * scale


def test_what_has_no_single_irr_says_why() -> None:
    assert irr([-100, -5, 0]).reason is not None and irr([-100, -5, 0]).value is None
    several = irr([100, -230, 132])  # 10% and 20% both zero the NPV
    assert several.value is None and "not unique" in (several.reason or "")
    assert irr([-100, 110]).value == pytest.approx(0.1, abs=1e-12)
    assert irr([0, -100, 121]).value == pytest.approx(0.21, abs=1e-12)
    assert irr([-100, 0, 0, 0, 1e-9]).value == pytest.approx(-0.9982217, abs=1e-6)
