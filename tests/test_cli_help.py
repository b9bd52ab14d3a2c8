"""What ``reos --help`` shows: every domain's commands, the ``--debug`` switch, and
``reos owners list``; and ``--debug`` doing what the help says."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from reos.cli import app
from tests.ingest.helpers import run_cli


def test_root_help_lists_debug_and_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    assert "--debug" in result.output
    assert "traceback" in result.output
    for command in ("import", "quarantine", "properties", "owners", "value", "avm", "db"):
        assert f" {command} " in result.output, command


def test_owners_help_lists_list() -> None:
    result = CliRunner().invoke(app, ["owners", "--help"])
    assert result.exit_code == 0, result.output
    assert " list " in result.output and "List owners" in result.output
    result = CliRunner().invoke(app, ["owners", "list", "--help"])
    assert result.exit_code == 0 and "--limit" in result.output and "--json" in result.output


def test_debug_adds_the_traceback_to_a_user_mistake(capsys: Any, org: Any) -> None:
    code, _out, err = run_cli(capsys, "properties", "show", "not-a-uuid", "--org", org.slug)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    code, _out, err = run_cli(
        capsys, "--debug", "properties", "show", "not-a-uuid", "--org", org.slug
    )
    assert code == 2 and err.startswith("error") and "Traceback" in err
