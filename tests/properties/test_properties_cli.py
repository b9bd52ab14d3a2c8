"""``reos properties list``: the same filters, sorting, paging and refusals as
``GET /api/v1/properties`` (one query schema serves both)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reos.ingest import service as ingest_service
from tests.ingest.helpers import SALES_HEADER, run_cli, sale_row, write_csv


@pytest.mark.parametrize(
    ("args", "params", "field"),
    [
        (["--state", "Iowa"], {"state": "Iowa"}, "state"),
        (["--zip", "5030"], {"zip": "5030"}, "zip"),
        (["--radius-m", "500"], {"radius_m": "500"}, "near"),
        (["--near", "42.03,-93.62"], {"near": "42.03,-93.62"}, "radius_m"),
        (["--near", "north", "--radius-m", "5"], {"near": "north", "radius_m": "5"}, "near"),
        (["--min-year-built", "1200"], {"min_year_built": "1200"}, "min_year_built"),
        (["--min-price", "-1"], {"min_price": "-1"}, "min_price"),
        (["--sort", "price"], {"sort": "price"}, "sort"),
        (["--limit", "0"], {"limit": "0"}, "limit"),
    ],
)
def test_cli_refuses_what_the_api_refuses(
    client: Any, org: Any, capsys: Any, args: list[str], params: dict[str, str], field: str
) -> None:
    r = client.get("/api/v1/properties", params=params, headers=org.headers())
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    code, out, err = run_cli(capsys, "properties", "list", *args, "--org", org.slug)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith(f"error [{field}]: "), err
    assert "Traceback" not in err and out == ""


def test_cli_filters_sort_and_page_like_the_api(
    client: Any, org: Any, capsys: Any, tmp_path: Path
) -> None:
    rows = [
        sale_row(1, SQFT=1000, **{"SALE PRICE": 150_000}),
        sale_row(2, SQFT=1800, **{"SALE PRICE": 250_000}),
        sale_row(3, SQFT=2400, **{"SALE PRICE": 350_000}),
        sale_row(4, SQFT=3000, **{"SALE PRICE": 450_000}),
    ]
    path = write_csv(tmp_path / "sales.csv", SALES_HEADER, rows)
    report = ingest_service.import_file(path, "sales", org_id=org.id)
    assert report.inserted == 4

    def both(**params: Any) -> list[str]:
        api = client.get("/api/v1/properties", params=params, headers=org.headers())
        assert api.status_code == 200, api.text
        args = [f"--{k.replace('_', '-')}={v}" for k, v in params.items()]
        code, out, err = run_cli(capsys, "properties", "list", *args, "--org", org.slug, "--json")
        assert code == 0, err
        cli = json.loads(out)
        assert cli["total"] == api.json()["total"]
        ids = [p["parcel_number"] for p in cli["items"]]
        assert ids == [p["parcel_number"] for p in api.json()["items"]]
        return ids

    assert both(min_price=200_000, max_price=400_000, sort="-last_sale_price") == [
        "P-00003",
        "P-00002",
    ]
    assert both(min_area_sqft=1500, max_area_sqft=2500, sort="living_area_sqft") == [
        "P-00002",
        "P-00003",
    ]
    assert both(sort="-living_area_sqft", limit=2, offset=1) == ["P-00003", "P-00002"]
    assert both(state="ia", zip="50010", city="ames", sort="last_sale_price", limit=1) == [
        "P-00001"
    ]
    assert both(min_year_built=1900, max_year_built=2100) == []  # no year known
