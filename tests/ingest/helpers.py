"""Shared helpers of the ingest tests: write small files, run the CLI in-process."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

SALES_HEADER = [
    "PARCEL",
    "SITUS ADDRESS",
    "CITY",
    "STATE",
    "ZIP",
    "BEDS",
    "SQFT",
    "SALE DATE",
    "SALE PRICE",
    "SALE ID",
]


def write_csv(
    path: Path, header: list[str], rows: list[list[Any]], encoding: str = "utf-8"
) -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def sale_row(i: int, **over: Any) -> list[Any]:
    row = {
        "PARCEL": f"P-{i:05d}",
        "SITUS ADDRESS": f"{100 + i} Main Street",
        "CITY": "Ames",
        "STATE": "IA",
        "ZIP": "50010",
        "BEDS": 3,
        "SQFT": 1500 + i,
        "SALE DATE": "2020-05-17",
        "SALE PRICE": 200000 + i,
        "SALE ID": f"S-{i}",
    }
    row.update(over)
    return [row[h] for h in SALES_HEADER]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``reos ARGS`` in this process; returns (exit code, stdout, stderr)."""
    from reos.cli import main

    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def balanced(report: dict[str, Any]) -> bool:
    return bool(
        report["rows_read"]
        == report["inserted"] + report["updated"] + report["unchanged"] + report["quarantined"]
    )
