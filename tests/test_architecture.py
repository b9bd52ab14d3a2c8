"""The architecture lint (tools/check_architecture.py): the tree passes against its
baseline, and each rule fires on a small synthetic package built in a temporary folder."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "check_architecture.py"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_architecture", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


arch = _load_tool()

#: A small reos package that follows every rule: the patterns the real code uses.
CLEAN = {
    "reos/__init__.py": '__version__ = "0"\n',
    "reos/db/__init__.py": "",
    "reos/db/base.py": """
        class Base: ...
        class TenantScoped: ...
    """,
    "reos/db/tenancy.py": """
        def of_org(session, table): ...
        def stamp(session, rows): ...
        def scoped(session):
            session.execute(text("SELECT set_config('reos.org_id', :org, true)"))
    """,
    "reos/models/__init__.py": """
        from reos.models.org import User
        from reos.models.property import Property, Sale
    """,
    "reos/models/property.py": """
        from reos.db.base import Base, TenantScoped

        class Property(TenantScoped, Base):
            __tablename__ = "properties"

        class Sale(TenantScoped, Base):
            __tablename__ = "sales"
    """,
    "reos/models/org.py": """
        from reos.db.base import Base

        class User(Base):
            __tablename__ = "users"
    """,
    "reos/geo.py": "def cells(lat, lon): ...\n",
    "reos/app.py": """
        from reos.properties.records import helper
        from reos.valuation import service
    """,
    "reos/properties/__init__.py": "",
    "reos/properties/records.py": """
        def helper(): ...
        def _load(): ...
        def uses_own_private():
            return _load()
    """,
    "reos/properties/service.py": """
        from sqlalchemy import delete, insert, select, update
        from reos.db import tenancy
        from reos.models import Property, Sale
        from reos.properties.records import helper

        def create(session, rows):
            session.add(Property(address="1 Main St"))
            session.execute(insert(Sale), tenancy.stamp(session, rows))

        def retire(session):
            session.execute(update(Property).values(active=False))
            session.execute(delete(Sale).where(Sale.price == 0))

        def bulk_update(session, table, rows):
            session.connection().execute(
                update(table).where(tenancy.of_org(session, table)), rows
            )

        def fetch(session, model, ids):
            table = model.__table__
            stmt = select(table.c.id).where(tenancy.of_org(session, table))
            return session.connection().execute(stmt)

        def tune(connection):
            connection.exec_driver_sql("PRAGMA cache_size=-65536")
    """,
    "reos/properties/queries.py": """
        from sqlalchemy import func, select
        from reos.models import Property

        def count(session, values):
            members = func.json_each(values).table_valued("value")
            session.execute(select(Property.id).where(Property.id.in_(select(members.c.value))))
            return session.scalar(select(func.count(Property.id)))
    """,
    "reos/valuation/__init__.py": "",
    "reos/valuation/engine.py": """
        from reos import geo
        from reos.models import User
        from reos.properties import queries, service
        from reos.properties.service import create
        import reos.properties

        def users(connection):
            from sqlalchemy import select
            return connection.execute(select(User))
    """,
    "reos/valuation/service.py": """
        from reos.valuation import engine
    """,
}


def _tree(tmp_path: Path, changes: dict[str, str] | None = None) -> Path:
    """The clean package with ``changes`` applied (a file's new text, "" for a new empty
    file); returns the ``src`` folder."""
    src = tmp_path / "src"
    for name, text in {**CLEAN, **(changes or {})}.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return src


def _found(tmp_path: Path, changes: dict[str, str]) -> list[str]:
    return [str(v) for v in arch.check(_tree(tmp_path, changes))]


# --- the real tree -----------------------------------------------------------------------


def test_the_source_tree_passes_against_its_baseline() -> None:
    """What `make lint` runs: no violation beyond the recorded debts, and no recorded debt
    that has been paid without its line being deleted."""
    done = subprocess.run(
        [sys.executable, str(TOOL)], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("architecture: ok (")


def test_every_baseline_entry_is_a_current_violation_of_a_known_rule() -> None:
    entries = arch.read_baseline(REPO / "tools" / "architecture_baseline.txt")
    current = Counter(v.key() for v in arch.check(REPO / "src"))
    rules = {"domain-import", "kernel-import", "private-import", "tenancy", "table-owner"}
    for _, entry in entries:
        path, rule, _message = entry.split(": ", 2)
        assert rule in rules, entry
        assert (REPO / path).is_file(), entry
        assert current[entry] > 0, entry


def test_every_model_of_the_real_tree_has_an_owner_and_tenant_models_are_found() -> None:
    tree = arch.load_tree(REPO / "src")
    assert set(tree.models) <= set(arch.TABLE_OWNERS)
    tenant = {m.name for m in tree.models.values() if m.tenant}
    assert {"Property", "Sale", "OwnerRecord", "Valuation", "Job", "AuditEntry"} <= tenant
    assert not {"User", "Organization", "RefreshToken", "LoginThrottle"} & tenant


# --- the clean synthetic tree ---------------------------------------------------------------


def test_the_patterns_the_code_uses_pass(tmp_path: Path) -> None:
    """ORM statements through the session, Core statements with tenancy.of_org / stamp,
    imports through a domain's front, wiring that imports anything: no violation."""
    assert arch.check(_tree(tmp_path)) == []


# --- rule a: imports between domains and from the kernel -------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "from reos.properties.records import helper",
        "from reos.properties import records",
        "import reos.properties.records",
        "from ..properties import records",
    ],
)
def test_a_domain_reaching_past_another_domains_front_is_refused(tmp_path: Path, line: str) -> None:
    found = _found(tmp_path, {"reos/valuation/service.py": line + "\n"})
    assert found == [
        "src/reos/valuation/service.py:1: domain-import: reos.valuation.service imports "
        "reos.properties.records, behind reos.properties's front (see FRONT_MODULES)"
    ]


def test_a_new_domain_is_checked_without_being_listed(tmp_path: Path) -> None:
    found = _found(
        tmp_path,
        {
            "reos/underwriting/__init__.py": "",
            "reos/underwriting/service.py": "from reos.valuation.engine import users\n",
        },
    )
    assert found == [
        "src/reos/underwriting/service.py:1: domain-import: reos.underwriting.service "
        "imports reos.valuation.engine, behind reos.valuation's front (see FRONT_MODULES)"
    ]


def test_the_kernel_imports_no_domain_and_only_wiring_imports_wiring(tmp_path: Path) -> None:
    found = _found(
        tmp_path,
        {
            "reos/geo.py": "from reos.properties import service\n",
            "reos/db/helpers.py": "import reos.app\n",
            "reos/valuation/service.py": "from reos.app import service\n",
        },
    )
    assert found == [
        "src/reos/db/helpers.py:1: kernel-import: reos.db.helpers imports reos.app: only "
        "wiring imports wiring",
        "src/reos/geo.py:1: kernel-import: reos.geo (kernel) imports the domain module "
        "reos.properties.service",
        "src/reos/valuation/service.py:1: kernel-import: reos.valuation.service imports "
        "reos.app: only wiring imports wiring",
    ]


def test_a_top_level_module_must_be_classified(tmp_path: Path) -> None:
    found = _found(tmp_path, {"reos/helpers.py": "X = 1\n"})
    assert found == [
        "src/reos/helpers.py:1: kernel-import: reos.helpers is neither a domain package "
        "nor listed in KERNEL or WIRING"
    ]


# --- rule b: underscore names across files ---------------------------------------------------


def test_an_underscore_name_imported_from_another_file_is_refused(tmp_path: Path) -> None:
    found = _found(
        tmp_path,
        {
            "reos/properties/queries.py": """
                from reos import __version__
                from reos.properties.records import _load
                from reos.properties import records

                def run():
                    return records._load()
            """,
        },
    )
    assert found == [
        "src/reos/properties/queries.py:2: private-import: reos.properties.queries imports "
        "_load from reos.properties.records",
        "src/reos/properties/queries.py:6: private-import: reos.properties.queries uses "
        "_load of reos.properties.records",
    ]


# --- rule c: tenancy -----------------------------------------------------------------------


def _service(body: str) -> dict[str, str]:
    head = """
        from sqlalchemy import delete, insert, select, text, update
        from reos.db import tenancy
        from reos.models import Property, Sale, User
    """
    return {"reos/properties/service.py": textwrap.dedent(head) + textwrap.dedent(body)}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            """
            def f(session):
                session.execute(update(Property.__table__).values(a=1))
            """,
            "f builds update on Property as a Core statement without tenancy.of_org",
        ),
        (
            """
            def f(session):
                session.connection().execute(delete(Sale).where(Sale.price == 0))
            """,
            "f builds delete on Sale as a statement run on a connection without tenancy.of_org",
        ),
        (
            """
            def f(session, rows):
                session.execute(insert(Sale), rows)
            """,
            "f inserts into Sale without tenancy.stamp",
        ),
        (
            """
            def f(session, table, rows):
                session.connection().execute(insert(table), rows)
            """,
            "f inserts into a table the lint cannot name without tenancy.stamp",
        ),
        (
            """
            def f(session, model):
                table = model.__table__
                return session.connection().execute(select(table.c.id))
            """,
            "f builds select on a table the lint cannot name as a Core statement without "
            "tenancy.of_org",
        ),
        (
            """
            def f(session, model, names):
                table = model.__table__
                stmt = select(*(cast(table.c[n], Text).label(n) for n in names))
                return session.connection().execute(stmt.order_by(table.c.id))
            """,
            "f builds select on a table the lint cannot name as a Core statement without "
            "tenancy.of_org",
        ),
        (
            """
            def f(session):
                with session.connection() as conn:
                    return conn.execute(select(Property.id))
            """,
            "f builds select on Property as a statement run on a connection without tenancy.of_org",
        ),
        (
            """
            def f(connection, target):
                connection.exec_driver_sql(f"INSERT INTO {target} (id) VALUES (?)")
            """,
            "f writes rows through raw SQL",
        ),
        (
            """
            def f(session):
                return session.execute(text("SELECT count(*) FROM sales"))
            """,
            "f reads the tenant table sales through raw SQL",
        ),
        (
            """
            def f(session):
                return session.execute(select(Sale).execution_options(skip_tenancy=True))
            """,
            "f sets skip_tenancy",
        ),
    ],
)
def test_a_statement_that_bypasses_the_tenancy_helpers_is_refused(
    tmp_path: Path, body: str, message: str
) -> None:
    found = _found(tmp_path, _service(body))
    assert [f.split(": ", 2)[1:] for f in found] == [["tenancy", message]]
    assert found[0].startswith("src/reos/properties/service.py:")


def test_non_tenant_tables_and_the_tenancy_package_are_not_tenancy_violations(
    tmp_path: Path,
) -> None:
    body = """
        def f(connection):
            connection.execute(update(User).values(a=1))
            connection.execute(text("SELECT 1 FROM users"))
    """
    found = _found(
        tmp_path,
        {
            "reos/accounts/__init__.py": "",
            "reos/accounts/service.py": _service(body)["reos/properties/service.py"],
            "reos/db/bulk.py": """
                from sqlalchemy import insert
                def f(connection, table, rows):
                    connection.execute(insert(table), rows)
                    connection.exec_driver_sql("DELETE FROM sales")
            """,
        },
    )
    assert found == []


def test_the_tenancy_allowlist_names_one_function(tmp_path: Path) -> None:
    """``reos.kernel.bulk:BulkWriter.insert_batch`` is allowed raw SQL; the class's other
    methods are not."""
    apply = """
        class BulkWriter:
            def insert_batch(self, connection, target):
                connection.exec_driver_sql(f"INSERT INTO {target} (id) VALUES (?)")

            def insert_more(self, connection, target):
                connection.exec_driver_sql(f"INSERT INTO {target} (id) VALUES (?)")
    """
    found = _found(tmp_path, {"reos/kernel/__init__.py": "", "reos/kernel/bulk.py": apply})
    assert found == [
        "src/reos/kernel/bulk.py:6: tenancy: BulkWriter.insert_more writes rows through raw SQL"
    ]


# --- rule d: one owner per table -------------------------------------------------------------


def test_only_the_owning_domain_writes_a_table(tmp_path: Path) -> None:
    found = _found(
        tmp_path,
        {
            "reos/valuation/service.py": """
                from sqlalchemy import insert, select, update
                from reos.db import tenancy
                from reos import models
                from reos.models import Property as Parcel, Sale

                def value(session, writer, rows):
                    session.add(models.Property(address="x"))
                    session.execute(insert(Sale), tenancy.stamp(session, rows))
                    session.execute(update(Parcel).values(value=1))
                    writer.insert_rows(Sale.__table__, rows)
                    return session.scalars(select(Sale)).all()
            """,
        },
    )
    owned = "owned by reos.properties"
    path = "src/reos/valuation/service.py"
    assert found == [
        f"{path}:7: table-owner: value writes Property (properties) by Property(...), {owned}",
        f"{path}:8: table-owner: value writes Sale (sales) by insert(), {owned}",
        f"{path}:9: table-owner: value writes Property (properties) by update(), {owned}",
        f"{path}:10: table-owner: value writes Sale (sales) by .insert_rows(), {owned}",
    ]


def test_a_model_without_an_owner_is_refused(tmp_path: Path) -> None:
    found = _found(
        tmp_path,
        {
            "reos/models/letter.py": """
                from reos.db.base import Base, TenantScoped

                class Letter(TenantScoped, Base):
                    __tablename__ = "letters"
            """,
        },
    )
    assert found == [
        "src/reos/models/letter.py:3: table-owner: model Letter (letters) has no owning domain "
        "in TABLE_OWNERS"
    ]


# --- the baseline ---------------------------------------------------------------------------


def _run(src: Path, baseline: Path, *extra: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, str(TOOL), "--root", str(src), "--baseline", str(baseline), *extra],
        cwd=src.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout


def test_the_baseline_passes_known_debts_and_fails_new_and_paid_ones(tmp_path: Path) -> None:
    src = _tree(
        tmp_path,
        {
            "reos/valuation/service.py": """
                from reos.properties import records
                from reos.properties.records import _load
            """
        },
    )
    debt_a = (
        "src/reos/valuation/service.py: domain-import: reos.valuation.service imports "
        "reos.properties.records, behind reos.properties's front (see FRONT_MODULES)"
    )
    debt_b = (
        "src/reos/valuation/service.py: private-import: reos.valuation.service imports "
        "_load from reos.properties.records"
    )
    baseline = tmp_path / "baseline.txt"

    baseline.write_text(f"# debts\n{debt_a}\n{debt_a}\n{debt_b}\n")
    assert _run(src, baseline) == (0, "architecture: ok (3 known debts in baseline.txt)\n")

    # a new violation (a third line in the same file) fails, printed with its line
    baseline.write_text(f"{debt_a}\n{debt_b}\n")
    code, out = _run(src, baseline)
    assert code == 1
    assert out.splitlines() == [
        "src/reos/valuation/service.py:2: domain-import: reos.valuation.service imports "
        "reos.properties.records, behind reos.properties's front (see FRONT_MODULES)"
    ]

    # a paid debt whose line is still listed fails too, until it is pruned
    (src / "reos/valuation/service.py").write_text("from reos.properties import records\n")
    baseline.write_text(f"# debts\n{debt_a}\n{debt_b}\n")
    code, out = _run(src, baseline)
    assert code == 1
    assert out.splitlines() == [f"{baseline}:3: baseline: no longer occurs, delete it: {debt_b}"]
    code, out = _run(src, baseline, "--prune-baseline")
    assert code == 0
    assert baseline.read_text() == f"# debts\n{debt_a}\n"


def test_a_duplicate_baseline_line_stands_for_one_occurrence_each() -> None:
    v = arch.Violation("src/reos/x.py", 3, "tenancy", "f sets skip_tenancy")
    w = arch.Violation("src/reos/x.py", 9, "tenancy", "f sets skip_tenancy")
    new, stale = arch.compare([v, w], [(1, v.key())])
    assert new == [w] and stale == []
    new, stale = arch.compare([v], [(1, v.key()), (2, v.key())])
    assert new == [] and stale == [(2, v.key())]


# --- the configuration's own exceptions ---------------------------------------------------


def test_an_allowance_the_code_no_longer_needs_is_reported(tmp_path: Path) -> None:
    """Exceptions in the lint's configuration shrink with the code, as the baseline does."""
    found = _found(
        tmp_path,
        {
            "reos/http/__init__.py": "",
            "reos/http/deps.py": "from reos import geo\n",
            "reos/accounts/__init__.py": "",
            "reos/accounts/auth.py": "",
            "reos/kernel/__init__.py": "",
            "reos/kernel/bulk.py": "class BulkWriter:\n    def insert(self): ...\n",
        },
    )
    assert found == [
        "src/reos/http/deps.py:1: kernel-import: KERNEL_MAY_IMPORT allows reos.http.deps -> "
        "reos.accounts.auth, which no longer occurs: delete the entry",
        "src/reos/kernel/bulk.py:1: tenancy: TENANCY_ALLOWED names "
        "reos.kernel.bulk:BulkWriter.insert_batch, which does not exist: delete the entry",
    ]


def test_a_file_that_does_not_parse_is_one_clear_error(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"reos/geo.py": "def cells(:\n"})
    done = subprocess.run(
        [sys.executable, str(TOOL), "--root", str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: src/reos/geo.py:1: cannot be parsed: ")
    assert done.stderr.count("\n") == 1


def test_a_module_loaded_by_name_counts_as_an_import(tmp_path: Path) -> None:
    """The job registry may name each domain's ``jobs`` module (JOB_MODULES) and nothing
    else of a domain; another kernel module may name none."""
    found = _found(
        tmp_path,
        {
            "reos/jobs/__init__.py": "",
            "reos/jobs/registry.py": 'JOB_MODULES = ("reos.valuation.jobs", "reos.valuation.engine")\n',
            "reos/valuation/jobs.py": "",
            "reos/geo.py": 'import importlib\nimportlib.import_module("reos.valuation.jobs")\n',
        },
    )
    assert found == [
        "src/reos/geo.py:2: kernel-import: reos.geo (kernel) imports the domain module "
        "reos.valuation.jobs",
        "src/reos/jobs/registry.py:1: kernel-import: reos.jobs.registry (kernel) imports the "
        "domain module reos.valuation.engine",
    ]
