"""``reos pipeline ...``: a run with its report and top deals, nothing new said so, the
runs list and one run; settings and schedule; bad input answered in one line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.ingest.helpers import run_cli


def test_run_show_runs_and_nothing_new(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    slug = world["org"].slug
    code, out, err = run_cli(capsys, "pipeline", "run", "--org", slug)
    assert code == 0, err
    assert f"{len(world['files'].parcels):,} changed properties, done" in out
    for stage in ("normalise", "owners", "lists", "value", "underwrite", "score", "shortlist"):
        assert stage in out
    assert "top 10 deals:" in out and "score " in out
    code, out, _ = run_cli(capsys, "pipeline", "run", "--org", slug)
    assert code == 0 and "nothing new since the last run" in out and "nothing to do" in out
    code, out, _ = run_cli(capsys, "pipeline", "runs", "--org", slug, "--json")
    runs = json.loads(out)
    assert [r["status"] for r in runs] == ["nothing_new", "done"]
    code, out, _ = run_cli(capsys, "pipeline", "show", runs[1]["id"], "--org", slug, "--json")
    shown = json.loads(out)
    assert shown["id"] == runs[1]["id"] and len(shown["stages"]) == 8
    assert shown["top_deals"][0]["reasons"]


def test_settings_schedule_and_bad_input(org: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys, "pipeline", "settings", "--org", org.slug, "--min-score", "70", "--json"
    )
    assert code == 0
    assert (
        json.loads(out)["shortlist_min_score"] == 70 and json.loads(out)["shortlist_top_n"] is None
    )
    code, out, _ = run_cli(capsys, "pipeline", "schedule", "--daily", "06:00", "--org", org.slug)
    assert code == 0 and "every day at 06:00 UTC" in out
    code, out, _ = run_cli(capsys, "pipeline", "schedule", "--off", "--org", org.slug)
    assert code == 0 and "off" in out
    for args, words in (
        (("schedule", "--daily", "6am"), "HH:MM"),
        (("show", "not-an-id"), "run_id"),
        (("show", "00000000-0000-0000-0000-000000000000"), "no pipeline run"),
        (("settings", "--strategy", "timeshare"), "strategy"),
        (("run", "--since", "last week"), "since"),
    ):
        code, out, err = run_cli(capsys, "pipeline", *args, "--org", org.slug)
        assert code != 0 and words in out + err, (args, out, err)
        assert "Traceback" not in out + err
