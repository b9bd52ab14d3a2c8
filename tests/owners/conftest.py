from __future__ import annotations

import logging

import pandas as pd
import pytest

from reos.owners.synthetic import generate_owner_records


@pytest.fixture(autouse=True)
def _quiet_splink() -> None:
    logging.getLogger("splink").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def roster() -> pd.DataFrame:
    return generate_owner_records(400, seed=3)


def record(
    record_id: str,
    name: str | None,
    line1: str | None = "123 MAIN ST",
    zip_code: str | None = "78701",
    **extra: object,
) -> dict[str, object]:
    return {
        "record_id": record_id,
        "owner_name": name,
        "owner_name_2": None,
        "mailing_address": line1,
        "mailing_address_2": None,
        "mailing_city": "AUSTIN",
        "mailing_state": "TX",
        "mailing_zip": zip_code,
        "mailing_country": None,
        **extra,
    }
