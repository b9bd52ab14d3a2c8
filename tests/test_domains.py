"""The one list of domains: every declared command, router and job module is real, and the
API, the CLI and the worker are built from that list alone."""

from __future__ import annotations

import importlib
from pathlib import Path

import typer
from fastapi import APIRouter
from typer.main import get_command

from reos.cli import LAZY_COMMANDS
from reos.domains import DOMAINS, PLATFORM_COMMANDS, command_modules, job_modules, router_paths


def test_domain_names_are_unique_and_each_is_declared_in_its_package() -> None:
    names = [d.name for d in DOMAINS]
    assert names == [
        "accounts", "properties", "ingest", "valuation", "owners", "underwriting", "dealflow",
        "crm", "pipeline",
    ]  # fmt: skip
    for domain in DOMAINS:
        assert importlib.import_module(f"reos.{domain.name}").DOMAIN is domain


def test_each_command_module_mounts_exactly_the_names_it_declares() -> None:
    sets = [*PLATFORM_COMMANDS, *(d.commands for d in DOMAINS if d.commands)]
    for commands in sets:
        holder = typer.Typer()
        holder.callback()(lambda: None)
        importlib.import_module(commands.module).mount(holder)
        group = get_command(holder)
        assert sorted(group.list_commands(None)) == sorted(commands.names), commands.module  # type: ignore[attr-defined, arg-type]


def test_the_cli_offers_every_declared_command_and_nothing_else() -> None:
    assert LAZY_COMMANDS == command_modules()
    assert set(LAZY_COMMANDS) == {
        "init", "serve", "db", "worker", "orgs", "users", "apikeys", "properties",
        "import", "quarantine", "fields", "avm", "value", "owners", "underwrite", "offer",
        "lists", "searches", "score", "deals", "offers", "tasks", "pipeline",
    }  # fmt: skip
    assert LAZY_COMMANDS["worker"] == "reos.jobs.commands"


def test_the_app_mounts_every_domain_router() -> None:
    from reos.app import create_app

    app = create_app(check_schema=False)
    paths = set(app.openapi()["paths"])
    for path in router_paths():
        module, _, attribute = path.partition(":")
        router = getattr(importlib.import_module(module), attribute)
        assert isinstance(router, APIRouter)
        assert {r.path for r in router.routes} <= paths, path  # type: ignore[attr-defined]


def test_the_worker_loads_every_domains_job_module() -> None:
    from reos.jobs.registry import handlers

    assert job_modules() == (
        "reos.ingest.jobs", "reos.valuation.jobs", "reos.dealflow.jobs", "reos.crm.jobs",
        "reos.pipeline.jobs",
    )  # fmt: skip
    assert {"import", "avm_train", "pipeline.run", "pipeline.work", "pipeline.daily"} <= set(
        handlers()
    )


def test_app_cli_and_worker_name_no_domain() -> None:
    """Adding a domain edits `reos.domains` and nothing else shared: the API factory, the
    CLI root and the job registry import no domain module by name."""
    import reos.app
    import reos.cli
    import reos.jobs.registry
    import reos.jobs.worker

    for module in (reos.app, reos.cli, reos.jobs.registry, reos.jobs.worker):
        source = Path(module.__file__ or "").read_text()
        for domain in DOMAINS:
            assert f"reos.{domain.name}" not in source, (module.__name__, domain.name)


def test_record_kinds_come_from_the_domains_that_declare_them() -> None:
    """The importer knows a kind exactly when a domain's front door names the module that
    registers it: one list of domains, no second list in the engine."""
    from reos.domains import kind_modules
    from reos.ingest.kinds import kind_of
    from reos.kernel.vocabulary import Entity

    assert kind_modules() == (
        "reos.properties.kinds",
        "reos.owners.kinds",
        "reos.underwriting.kinds",
    )
    writers = {entity: kind_of(entity.value).writer for entity in Entity}
    assert writers == {
        Entity.PROPERTY: "reos.properties.bulk:write_properties",
        Entity.SALE: "reos.properties.bulk:write_sales",
        Entity.OWNER: "reos.owners.bulk:write_owner_records",
        Entity.RENT: "reos.underwriting.bulk:write_rent_listings",
    }
