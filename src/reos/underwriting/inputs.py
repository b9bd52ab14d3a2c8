"""What every deal file's model shares: unknown fields refused, ``null`` meaning "absent"
(the contract's default applies), and no NaN or infinity anywhere.

The bounds are the contract's (``shared/reference/underwriting.md``) plus a few that only
keep the arithmetic finite: money at most $1,000,000,000,000 and growth/discount rates
between -100% (exclusive) and +100% a year, so no figure can overflow to infinity and come
out as NaN.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, model_validator

from reos.kernel.schemas import InputModel

#: The largest amount of money a deal may name (dollars).
MAX_MONEY = 1e12


class DealModel(InputModel):
    """Base of the deal-file models (rental, flip and their loans)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        """The contract reads ``null`` as absent: the default applies (and a required field
        is reported missing)."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data
