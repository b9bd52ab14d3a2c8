"""``reos owners ...``: resolve, list, show, portfolio, top, merge, split, export-clusters,
and one-line errors with their exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.owners.test_api import HOUSEHOLD
from tests.owners.test_service_support import store_records


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``reos ARGS`` in this process; returns (exit code, stdout, stderr)."""
    from reos.cli import main

    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_owner_commands_happy_path(
    capsys: pytest.CaptureFixture[str], org: Any, tmp_path: Path
) -> None:
    store_records(org.id, pd.DataFrame(HOUSEHOLD))
    o = ["--org", org.slug]
    code, out, err = run(capsys, "owners", "resolve", *o)
    assert code == 0, err
    assert "5 owner records -> 3 owners (2 merged)" in out and "property unknown" in out
    report = run_json(capsys, "owners", "resolve", *o, "--full", "--threshold", "0.9")
    assert report["mode"] == "full" and report["threshold"] == 0.9 and report["entities"] == 3

    listed = run_json(capsys, "owners", "list", *o, "--corporate")
    assert listed["total"] == 2
    code, out, _ = run(capsys, "owners", "list", *o, "--q", "smith")
    assert code == 0 and "own:S1" in out and "1 of 1" in out

    shown = run_json(capsys, "owners", "show", "own:S1", *o)
    assert {r["owner_record_id"] for r in shown["records"]} == {"S1", "S2", "S3"}
    assert shown["portfolio"]["total_estimated_value"] == 650_000.0
    code, out, _ = run(capsys, "owners", "show", shown["id"], *o)
    assert code == 0 and "portfolio: 2 properties, estimated value 650,000" in out
    assert "1 property unknown" in out and "SMITH JOHN A" in out

    folio = run_json(capsys, "owners", "portfolio", shown["id"], *o)
    assert folio["property_count"] == 2 and folio["total_estimated_value"] == 650_000.0
    code, out, _ = run(capsys, "owners", "portfolio", "own:S1", *o)
    assert code == 0 and "total estimated value 650,000" in out

    top = run_json(capsys, "owners", "top", "--n", "2", *o)
    assert len(top) == 2 and top[0]["pagerank"] >= top[1]["pagerank"]

    code, out, err = run(capsys, "owners", "merge", "A1", "B1", *o)
    assert code == 0 and "now are one owner" in out, err
    code, out, err = run(capsys, "owners", "split", "own:S1", "S3", *o)
    assert code == 0 and "S3 split off" in out, err

    target = tmp_path / "out" / "clusters.csv"
    code, out, err = run(capsys, "owners", "export-clusters", str(target), *o)
    assert code == 0 and "wrote 5 records (3 owners)" in out, err
    with target.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["source_record_id", "entity_id"]
    clusters = dict(rows[1:])
    assert clusters["A1"] == clusters["B1"] and clusters["S3"] != clusters["S1"] == clusters["S2"]
    assert clusters["S1"] == shown["id"]


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["owners", "show", "own:nobody"], 3, "error [entity_id]: owner 'own:nobody' not found"),
        (["owners", "portfolio", "not-a-uuid"], 3, "not found"),
        (["owners", "merge", "S1", "missing"], 3, "error [record_b]: owner record 'missing'"),
        (["owners", "split", "own:A1", "A1"], 2, "nothing to split"),
        (["owners", "resolve", "--threshold", "2"], 2, "error [threshold]"),
        (["owners", "top", "--n", "0"], 2, "error [n]: n must be at least 1"),
        (["owners", "list", "--limit", "0"], 2, "error [limit]"),
    ],
)
def test_owner_command_errors_are_one_line(
    capsys: pytest.CaptureFixture[str],
    org: Any,
    args: list[str],
    exit_code: int,
    message: str,
) -> None:
    store_records(org.id, pd.DataFrame(HOUSEHOLD))
    assert run(capsys, "owners", "resolve", "--org", org.slug)[0] == 0
    code, out, err = run(capsys, *args, "--org", org.slug)
    assert code == exit_code, (out, err)
    assert message in err
    assert "Traceback" not in err


def test_merge_and_export_before_resolve_say_what_to_do(
    capsys: pytest.CaptureFixture[str], org: Any, tmp_path: Path
) -> None:
    store_records(org.id, pd.DataFrame(HOUSEHOLD))
    code, _, err = run(capsys, "owners", "merge", "S1", "A1", "--org", org.slug)
    assert code == 4 and "run `reos owners resolve`" in err
    code, _, err = run(
        capsys, "owners", "export-clusters", str(tmp_path / "x.csv"), "--org", org.slug
    )
    assert code == 4 and "not resolved yet" in err
    assert not (tmp_path / "x.csv").exists()


def test_resolve_prints_no_library_warnings(org: Any) -> None:
    """The match model's libraries (Splink, DuckDB, pandas) warn about a roster this small;
    those lines go to the log file under REOS_HOME, not to the user's terminal. Run as the
    real ``reos`` process, so no test fixture quiets the libraries first."""
    import os
    import subprocess
    import sys

    from reos.config import get_settings
    from reos.owners.synthetic import generate_owner_records

    store_records(org.id, generate_owner_records(400, seed=3))
    done = subprocess.run(
        [sys.executable, "-m", "reos", "owners", "resolve", "--org", org.slug],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "400 owner records ->" in done.stdout
    printed = done.stdout + done.stderr
    assert "warning" not in printed.lower(), printed
    log = get_settings().home / "logs" / "reos.log"
    assert "unable to train m value" in log.read_text(encoding="utf-8")
