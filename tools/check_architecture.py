"""The architecture lint: keeps the boundaries drawn in ARCHITECTURE.md true.

Run from the repository root (``make lint`` does)::

    python tools/check_architecture.py            # check src/reos against the baseline
    python tools/check_architecture.py --prune-baseline   # drop debts that were paid

Rules (each violation prints as ``path:line: rule: message``):

``domain-import``
    A domain (any subpackage of ``reos`` that is not kernel or wiring) imports another
    domain only through its front: the package itself, its ``service`` module or its read
    model ``queries``; never its other modules.
``kernel-import``
    A kernel/infrastructure module imports no domain (except the edges in
    ``KERNEL_MAY_IMPORT``, each with its reason), and nothing but wiring imports wiring.
    A string that names a module (``"reos.ingest.jobs"``, for ``importlib``) counts as an
    import; ``KERNEL_MAY_NAME`` lets the job registry name each domain's ``jobs`` module.
``private-import``
    No underscore name crosses a file: ``from reos.x import _y`` or ``x._y`` on an imported
    ``reos`` module.
``tenancy``
    A statement on a tenant table that the ORM does not scope names the organisation
    through ``reos.db.tenancy`` in the same function: a Core ``insert`` calls
    ``tenancy.stamp``; a Core ``select``/``update``/``delete`` (on ``Model.__table__``, a
    table variable, or any statement executed on a connection) calls ``tenancy.of_org``.
    Raw driver SQL (``exec_driver_sql``, ``driver_connection``), ``text()`` naming a tenant
    table and ``skip_tenancy`` are refused outside ``TENANCY_ALLOWED``.
``table-owner``
    Only the owning domain (``TABLE_OWNERS``) writes a model: constructs it, builds an
    ``insert``/``update``/``delete`` on it or its table, or hands its table to a bulk
    writer. Every model has an owner.

Today's violations are listed in ``tools/architecture_baseline.txt`` (one debt per line,
without line numbers so edits elsewhere in a file do not disturb it). The lint fails on a
violation that is not listed, and on a listed one that no longer occurs: the baseline only
shrinks. Only the standard library is used, so the lint runs before anything is installed.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# --- configuration: tighten these as the code moves ------------------------------------

#: Top-level modules and subpackages of ``reos`` that are the shared kernel or
#: infrastructure: every domain may use them, they import no domain.
KERNEL: frozenset[str] = frozenset(
    {
        "reos",  # the package's __init__ (version)
        "reos.kernel",  # to come: addresses, vocabulary, bulk-SQL helpers
        "reos.config",
        "reos.errors",
        "reos.logging",
        "reos.geo",
        "reos.db",
        "reos.models",
        "reos.http",
        "reos.jobs",
        "reos.cli_support",
        "reos.frontdoor",  # the Domain descriptor type each domain declares itself with
    }
)

#: Modules that assemble the domains into the application: they may import anything,
#: and nothing but another wiring module imports them.
WIRING: frozenset[str] = frozenset(
    {
        "reos.__main__",
        "reos.app",  # routers, by hand
        "reos.cli",  # built-in command groups and LAZY_COMMANDS
        "reos.server",  # `reos init` / `reos serve`
        "reos.flows",  # work that crosses domains (the demo flow)
        "reos.domains",  # to come: the one list of domains
        "reos.web",  # the dashboard: pages over every domain's front (like flows)
    }
)

#: The modules of a domain that other domains may import (besides the package itself):
#: ``service`` (commands: do something), ``read_model``/``queries`` (read something),
#: ``bulk`` (its bulk write path, which the importer hands validated rows to) and ``kinds``
#: (the record kinds it registers with the importer).
FRONT_MODULES: frozenset[str] = frozenset({"service", "read_model", "queries", "bulk", "kinds"})

#: Kernel -> domain imports that are part of the design, each with its reason.
KERNEL_MAY_IMPORT: dict[tuple[str, str], str] = {
    ("reos.http.deps", "reos.accounts.auth"): (
        "authentication: the HTTP layer asks accounts' auth front who is calling"
    ),
    ("reos.cli_support", "reos.accounts.service"): (
        "the CLI resolves an organisation and acts as its owner through accounts"
    ),
    ("reos.jobs.registry", "reos.domains"): (
        "the worker learns each domain's job module from the one list of domains"
    ),
    ("reos.jobs.schedules", "reos.domains"): (
        "the worker learns each domain's schedules from the one list of domains"
    ),
    ("reos.jobs.schedules", "reos.accounts.service"): (
        "a schedule is enqueued for every organisation, which accounts lists"
    ),
    ("reos.ingest.kinds", "reos.domains"): (
        "the importer learns each domain's record kinds from the one list of domains"
    ),
}

#: Kernel modules that load domain modules by name (a string, for ``importlib``), and the
#: one module of each domain they may name.
KERNEL_MAY_NAME: dict[str, tuple[str, str]] = {
    "reos.jobs.registry": ("jobs", "JOB_MODULES: the worker loads each domain's job handlers"),
}

#: Which domain (or infrastructure package) owns, and alone writes, each model's table.
TABLE_OWNERS: dict[str, str] = {
    "Property": "reos.properties",
    "PipelineRun": "reos.pipeline",
    "PipelineChunk": "reos.pipeline",
    "PipelineItem": "reos.pipeline",
    "PipelineSettings": "reos.pipeline",
    "PropertyList": "reos.dealflow",
    "ListMembership": "reos.dealflow",
    "SavedSearch": "reos.dealflow",
    "DealScore": "reos.dealflow",
    "ScoreModel": "reos.dealflow",
    "Sale": "reos.properties",
    "FieldChange": "reos.properties",
    "OwnerEntity": "reos.owners",
    "OwnerRecord": "reos.owners",
    "OwnerOverride": "reos.owners",
    "ResolutionRun": "reos.owners",
    "ImportRun": "reos.ingest",
    "QuarantinedRow": "reos.ingest",
    "AvmModelVersion": "reos.valuation",
    "Valuation": "reos.valuation",
    "ValuationRun": "reos.valuation",
    "RentListing": "reos.underwriting",
    "UnderwritingDefaults": "reos.underwriting",
    "Underwriting": "reos.underwriting",
    "UnderwritingRun": "reos.underwriting",
    "Organization": "reos.accounts",
    "User": "reos.accounts",
    "Membership": "reos.accounts",
    "ApiKey": "reos.accounts",
    "RefreshToken": "reos.accounts",
    "LoginThrottle": "reos.accounts",
    "AuditEntry": "reos.accounts",
    "Job": "reos.jobs",
    "ScheduleRun": "reos.jobs",
    "Deal": "reos.crm",
    "DealStage": "reos.crm",
    "DealTag": "reos.crm",
    "DealNote": "reos.crm",
    "DealTask": "reos.crm",
    "DealEvent": "reos.crm",
    "Offer": "reos.crm",
}

#: Where the tenancy rule does not apply, by module or ``module:Qualified.name`` prefix.
TENANCY_ALLOWED: dict[str, str] = {
    "reos.db": "the tenancy machinery, sessions, engine set-up and migrations themselves",
    "reos.kernel.bulk:BulkWriter.insert_batch": (
        "bulk insert of new records as driver-level executemany (SQLite) or COPY into a "
        "temporary table then INSERT ... SELECT (PostgreSQL, checked by row-level "
        "security); org_id is appended to every row from the writer's organisation"
    ),
}

#: Modules under ``reos`` that are not checked at all.
SKIPPED: tuple[str, ...] = ("reos.db.migrations.versions",)

# --- the lint ---------------------------------------------------------------------------

ROOT_PACKAGE = "reos"
STATEMENTS = frozenset({"insert", "update", "delete", "select"})
#: A method call whose name starts so, given a model or its table, writes it
#: (``writer.insert_rows(Property.__table__, ...)``, ``session.bulk_insert_mappings(...)``).
WRITE_METHOD_PREFIXES = ("insert", "update", "delete", "upsert", "bulk_")
CONNECTION_NAMES = frozenset({"connection", "conn"})
CONNECTION_FACTORIES = frozenset({"connection", "connect", "begin"})
#: SQL that changes rows, in a string literal (the table may be a placeholder).
SQL_WRITE = re.compile(
    r"\b(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\S+\s+SET|COPY\s+\S+.*\bFROM\s+STDIN)\b", re.I
)
#: SQL that reads a named table, in a string literal.
SQL_READ = re.compile(r"\b(?:FROM|JOIN)\s+\"?([a-z_][a-z0-9_]*)", re.I)


class Unreadable(Exception):
    """A source file that is not valid Python: the lint cannot judge the tree."""


@dataclass(frozen=True, order=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def key(self) -> str:
        """The baseline form: no line number, so unrelated edits keep it stable."""
        return f"{self.path}: {self.rule}: {self.message}"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class Model:
    name: str
    table: str
    tenant: bool
    path: str
    line: int


@dataclass
class Module:
    name: str
    path: Path
    rel: str
    tree: ast.Module
    is_package: bool


@dataclass
class Tree:
    root: Path
    modules: dict[str, Module] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)


def load_tree(root: Path) -> Tree:
    """Parse every module of ``reos`` under ``root`` (a ``src`` directory)."""
    tree = Tree(root=root)
    base = root / ROOT_PACKAGE
    for path in sorted(base.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        rel = path.relative_to(root.parent).as_posix()
        source = path.read_text(encoding="utf-8")
        try:
            parsed = ast.parse(source, str(path))
        except SyntaxError as exc:
            raise Unreadable(f"{rel}:{exc.lineno}: cannot be parsed: {exc.msg}") from None
        tree.modules[name] = Module(name, path, rel, parsed, is_package)
    for module in tree.modules.values():
        if module.name == "reos.models" or module.name.startswith("reos.models."):
            for node in module.tree.body:
                if isinstance(node, ast.ClassDef) and _tablename(node):
                    bases = {_dotted(b).rsplit(".", 1)[-1] for b in node.bases}
                    tree.models[node.name] = Model(
                        node.name,
                        _tablename(node) or "",
                        "TenantScoped" in bases,
                        module.rel,
                        node.lineno,
                    )
    return tree


def _tablename(node: ast.ClassDef) -> str | None:
    for stmt in node.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in targets):
                value = stmt.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    return value.value
    return None


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _skipped(name: str) -> bool:
    return any(name == s or name.startswith(s + ".") for s in SKIPPED)


def top_level(name: str) -> str:
    """``reos.owners.records`` -> ``reos.owners``; ``reos`` -> ``reos``."""
    parts = name.split(".")
    return ".".join(parts[:2])


def kind_of(name: str) -> str:
    """``kernel``, ``wiring`` or ``domain`` (any other subpackage of reos)."""
    if name in WIRING or top_level(name) in WIRING:
        return "wiring"
    if name == ROOT_PACKAGE or top_level(name) in KERNEL:
        return "kernel"
    return "domain"


class Imports:
    """What each local name of a module refers to (``insert`` -> ``sqlalchemy.insert``)."""

    def __init__(self, module: Module, known: dict[str, Module]) -> None:
        self.names: dict[str, str] = {}
        self.edges: list[tuple[ast.stmt, str, str | None]] = []  # node, target, name
        package = module.name if module.is_package else module.name.rpartition(".")[0]
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.names[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        self.names[head] = head
                    self.edges.append((node, alias.name, None))
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    source = ".".join([*anchor, *([source] if source else [])])
                for alias in node.names:
                    target = f"{source}.{alias.name}"
                    self.names[alias.asname or alias.name] = target
                    if target in known:
                        self.edges.append((node, target, None))
                    else:
                        self.edges.append((node, source, alias.name))
        #: modules named by a string (loaded with importlib): ``"reos.ingest.jobs"``
        self.named: list[tuple[ast.Constant, str]] = [
            (node, node.value)
            for node in ast.walk(module.tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in known
            and node.value.startswith(ROOT_PACKAGE + ".")
        ]

    def resolve(self, node: ast.AST) -> str:
        """The dotted name ``node`` refers to through the imports ('' when unknown)."""
        dotted = _dotted(node)
        if not dotted:
            return ""
        head, _, rest = dotted.partition(".")
        if head in self.names:
            return self.names[head] + (f".{rest}" if rest else "")
        return ""


def check(root: Path) -> list[Violation]:
    """Every violation in the tree under ``root`` (a ``src`` directory), sorted."""
    tree = load_tree(root)
    found: list[Violation] = []
    for model in tree.models.values():
        if model.name not in TABLE_OWNERS:
            found.append(
                Violation(
                    model.path,
                    model.line,
                    "table-owner",
                    f"model {model.name} ({model.table}) has no owning domain in TABLE_OWNERS",
                )
            )
    for module in tree.modules.values():
        if _skipped(module.name):
            continue
        imports = Imports(module, tree.modules)
        found.extend(_check_imports(module, imports, tree))
        found.extend(_check_private(module, imports, tree))
        found.extend(_Statements(module, imports, tree).run())
    found.extend(_check_allowances(tree))
    return sorted(set(found))


def _check_allowances(tree: Tree) -> Iterator[Violation]:
    """An exception in the configuration that no longer matches the code is reported, so
    the allowances shrink with the code as the baseline does."""
    for importer, target in KERNEL_MAY_IMPORT:
        module = tree.modules.get(importer)
        if module is None or target not in tree.modules:
            continue
        edges = {t for _, t, _ in Imports(module, tree.modules).edges}
        if target not in edges:
            yield Violation(
                module.rel,
                1,
                "kernel-import",
                f"KERNEL_MAY_IMPORT allows {importer} -> {target}, which no longer occurs: "
                "delete the entry",
            )
    for entry in TENANCY_ALLOWED:
        name, _, qualname = entry.partition(":")
        module = tree.modules.get(name)
        if not qualname or module is None:
            continue
        if qualname not in _qualnames(module.tree):
            yield Violation(
                module.rel,
                1,
                "tenancy",
                f"TENANCY_ALLOWED names {entry}, which does not exist: delete the entry",
            )


def _qualnames(node: ast.AST, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{child.name}"
            out.add(name)
            out |= _qualnames(child, name + ".")
    return out


# --- rules a and b: imports ---------------------------------------------------------------


def _check_imports(module: Module, imports: Imports, tree: Tree) -> Iterator[Violation]:
    me = kind_of(module.name)
    if me == "domain" and module.name == top_level(module.name) and not module.is_package:
        yield Violation(
            module.rel,
            1,
            "kernel-import",
            f"{module.name} is neither a domain package nor listed in KERNEL or WIRING",
        )
    edges: list[tuple[ast.AST, str]] = [(n, t) for n, t, _ in imports.edges]
    for constant, named in imports.named:
        allowed = KERNEL_MAY_NAME.get(module.name)
        if allowed and kind_of(named) == "domain" and named.rpartition(".")[2] == allowed[0]:
            continue
        edges.append((constant, named))
    for node, target in edges:
        if not (target == ROOT_PACKAGE or target.startswith(ROOT_PACKAGE + ".")):
            continue
        if target not in tree.modules:
            continue
        theirs = kind_of(target)
        if theirs == "wiring" and me != "wiring":
            if (module.name, target) in KERNEL_MAY_IMPORT:
                continue
            yield Violation(
                module.rel,
                getattr(node, "lineno", 1),
                "kernel-import",
                f"{module.name} imports {target}: only wiring imports wiring",
            )
        elif me == "kernel" and theirs == "domain":
            if (module.name, target) in KERNEL_MAY_IMPORT:
                continue
            yield Violation(
                module.rel,
                getattr(node, "lineno", 1),
                "kernel-import",
                f"{module.name} (kernel) imports the domain module {target}",
            )
        elif me == "domain" and theirs == "domain":
            domain = top_level(target)
            if domain == top_level(module.name) or target == domain:
                continue
            if target.rpartition(".")[2] in FRONT_MODULES and target.count(".") == 2:
                continue
            yield Violation(
                module.rel,
                getattr(node, "lineno", 1),
                "domain-import",
                f"{module.name} imports {target}, behind {domain}'s front (see FRONT_MODULES)",
            )


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _check_private(module: Module, imports: Imports, tree: Tree) -> Iterator[Violation]:
    for node, target, name in imports.edges:
        if not target.startswith(ROOT_PACKAGE):
            continue
        if name is not None and _private(name):
            yield Violation(
                module.rel,
                node.lineno,
                "private-import",
                f"{module.name} imports {name} from {target}",
            )
        elif name is None and _private(target.rpartition(".")[2]):
            yield Violation(
                module.rel,
                node.lineno,
                "private-import",
                f"{module.name} imports the private module {target}",
            )
    for use in ast.walk(module.tree):
        if isinstance(use, ast.Attribute) and _private(use.attr):
            owner = imports.resolve(use.value)
            if owner in tree.modules and owner != module.name:
                yield Violation(
                    module.rel,
                    use.lineno,
                    "private-import",
                    f"{module.name} uses {use.attr} of {owner}",
                )


# --- rules c and d: statements ------------------------------------------------------------


@dataclass
class _Scope:
    qualname: str
    nodes: list[ast.AST] = field(default_factory=list)


def _columns(args: Iterable[ast.expr]) -> Iterator[ast.expr]:
    """A ``select()``'s column expressions, through ``*(... for n in names)`` and
    ``a if c else b``."""
    for arg in args:
        if isinstance(arg, ast.Starred):
            yield from _columns([arg.value])
        elif isinstance(arg, ast.GeneratorExp | ast.ListComp | ast.SetComp):
            yield from _columns([arg.elt])
        elif isinstance(arg, ast.List | ast.Tuple):
            yield from _columns(arg.elts)
        elif isinstance(arg, ast.IfExp):
            yield from _columns([arg.body, arg.orelse])
        else:
            yield arg


class _Statements:
    """The tenancy and table-ownership rules, one function at a time."""

    def __init__(self, module: Module, imports: Imports, tree: Tree) -> None:
        self.module = module
        self.imports = imports
        self.tree = tree
        self.scopes: list[_Scope] = []
        self.allowed = any(
            module.name == a or module.name.startswith(a + ".")
            for a in TENANCY_ALLOWED
            if ":" not in a
        )

    def run(self) -> list[Violation]:
        self._collect(self.module.tree, "<module>", [])
        out: list[Violation] = []
        for scope in self.scopes:
            out.extend(self._tenancy(scope))
            out.extend(self._ownership(scope))
        return out

    def _collect(self, node: ast.AST, qualname: str, prefix: list[str]) -> None:
        scope = _Scope(qualname)
        self.scopes.append(scope)
        stack = list(ast.iter_child_nodes(node))
        while stack:
            child = stack.pop()
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = [*prefix, child.name]
                if isinstance(child, ast.ClassDef):
                    for grandchild in child.body:
                        if isinstance(grandchild, ast.FunctionDef | ast.AsyncFunctionDef):
                            self._collect(
                                grandchild,
                                ".".join([*inner, grandchild.name]),
                                [
                                    *inner,
                                    grandchild.name,
                                ],
                            )
                        else:
                            stack.append(grandchild)
                else:
                    self._collect(child, ".".join(inner), inner)
                continue
            scope.nodes.append(child)
            stack.extend(ast.iter_child_nodes(child))

    # what names refer to

    def _model(self, node: ast.AST) -> Model | None:
        """The model ``node`` names (``Property``, ``models.Property``, an alias)."""
        target = self.imports.resolve(node)
        if target.startswith("reos.models."):
            return self.tree.models.get(target.rpartition(".")[2])
        if self.module.name.startswith("reos.models") and isinstance(node, ast.Name):
            return self.tree.models.get(node.id)
        return None

    def _table(self, node: ast.AST) -> tuple[Model | None, bool]:
        """(model, is_core) for a statement's target: ``Model`` -> ORM, ``Model.__table__``
        -> Core; (None, True) for a table the lint cannot name (a variable)."""
        if isinstance(node, ast.Attribute) and node.attr == "__table__":
            return self._model(node.value), True
        model = self._model(node)
        if model is not None:
            return model, False
        return None, True

    def _construct(self, call: ast.Call) -> str:
        """``insert``/``update``/``delete``/``select`` when ``call`` builds a SQLAlchemy
        statement (``insert(...)``, ``sa.insert(...)``, ``postgresql.insert(...)``)."""
        name = _dotted(call.func).rpartition(".")[2]
        if name not in STATEMENTS:
            return ""
        resolved = self.imports.resolve(call.func)
        if resolved.startswith("sqlalchemy"):
            return name
        if isinstance(call.func, ast.Attribute) and name != "select":
            # ``dialect.insert(Model)``: a dialect module picked at run time
            receiver = _dotted(call.func.value)
            if "dialect" in receiver or receiver in {"sa", "postgresql", "sqlite"}:
                return name
        return ""

    def _calls(self, scope: _Scope) -> Iterator[ast.Call]:
        for node in scope.nodes:
            if isinstance(node, ast.Call):
                yield node

    def _helper(self, scope: _Scope, name: str) -> bool:
        for call in self._calls(scope):
            resolved = self.imports.resolve(call.func)
            if resolved in (f"reos.db.tenancy.{name}",) or (
                self.module.name == "reos.db.tenancy" and _dotted(call.func) == name
            ):
                return True
        return False

    def _executes_on_connection(self, scope: _Scope) -> bool:
        bound = set(CONNECTION_NAMES)
        for node in scope.nodes:
            if isinstance(node, ast.Assign) and self._is_connection(node.value):
                bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
            if isinstance(node, ast.withitem) and self._is_connection(node.context_expr):
                if isinstance(node.optional_vars, ast.Name):
                    bound.add(node.optional_vars.id)
        for call in self._calls(scope):
            if isinstance(call.func, ast.Attribute) and call.func.attr == "execute":
                receiver = call.func.value
                if self._is_connection(receiver) or (
                    isinstance(receiver, ast.Name) and receiver.id in bound
                ):
                    return True
        return False

    @staticmethod
    def _is_connection(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CONNECTION_FACTORIES
        )

    def _tenancy_allowed(self, scope: _Scope) -> bool:
        if self.allowed:
            return True
        here = f"{self.module.name}:{scope.qualname}"
        return any(here == a or here.startswith(a + ".") for a in TENANCY_ALLOWED if ":" in a)

    def _violation(self, node: ast.AST, rule: str, message: str) -> Violation:
        return Violation(self.module.rel, getattr(node, "lineno", 1), rule, message)

    # rule c

    def _tenancy(self, scope: _Scope) -> Iterator[Violation]:
        if self._tenancy_allowed(scope):
            return
        where = scope.qualname
        stamps = self._helper(scope, "stamp")
        scoped = self._helper(scope, "of_org")
        on_connection = self._executes_on_connection(scope)
        for call in self._calls(scope):
            kind = self._construct(call)
            if kind:
                yield from self._statement(call, kind, scope, stamps, scoped, on_connection)
            for keyword in call.keywords:
                if keyword.arg == "skip_tenancy":
                    yield self._violation(call, "tenancy", f"{where} sets skip_tenancy")
        yield from self._raw_sql(scope)

    def _statement(
        self,
        call: ast.Call,
        kind: str,
        scope: _Scope,
        stamps: bool,
        scoped: bool,
        on_connection: bool,
    ) -> Iterator[Violation]:
        where = scope.qualname
        if kind == "select":
            tables_of = self._table_variables(scope)
            targets = [self._select_target(a, tables_of) for a in _columns(call.args)]
            tables = [t for t in targets if t is not None]
        elif call.args:
            tables = [self._table(call.args[0])]
        else:
            return
        for model, core in tables:
            if model is not None and not model.tenant:
                continue
            label = model.name if model else "a table the lint cannot name"
            if kind == "insert":
                if not stamps:
                    yield self._violation(
                        call,
                        "tenancy",
                        f"{where} inserts into {label} without tenancy.stamp",
                    )
            elif (core or on_connection) and not scoped:
                how = "a Core statement" if core else "a statement run on a connection"
                yield self._violation(
                    call,
                    "tenancy",
                    f"{where} builds {kind} on {label} as {how} without tenancy.of_org",
                )
            return

    @staticmethod
    def _table_variables(scope: _Scope) -> set[str]:
        """Local names that hold a Core table: assigned ``x.__table__`` or annotated
        ``Table`` (a parameter)."""
        names: set[str] = set()
        for node in scope.nodes:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "__table__"
            ):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            if isinstance(node, ast.arg) and _dotted(node.annotation or ast.Pass()).endswith(
                "Table"
            ):
                names.add(node.arg)
        return names

    def _select_target(
        self, node: ast.AST, tables_of: set[str]
    ) -> tuple[Model | None, bool] | None:
        """The table a ``select()`` argument reads: ``Model`` / ``Model.col`` (ORM),
        ``Model.__table__`` / ``table.c.col`` / ``table.c[name]`` (Core); None for what is
        not a table (a table-valued function's ``.c``, a literal)."""
        while isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and not node.args:
                node = node.func.value  # x.label("n") has args too: see below
            elif node.args:
                first = node.args[0]  # cast(x, T), func.count(x)
                if isinstance(node.func, ast.Attribute) and node.func.attr == "label":
                    first = node.func.value
                node = first
            else:
                return None
        if isinstance(node, ast.Subscript):
            node = node.value
        if isinstance(node, ast.Attribute) and node.attr not in {"c", "__table__"}:
            if not (isinstance(node.value, ast.Attribute) and node.value.attr == "c"):
                model = self._model(node.value)
                return (model, False) if model else None
            node = node.value  # table.c.col
        if isinstance(node, ast.Attribute) and node.attr == "c":
            node = node.value  # table.c
            if isinstance(node, ast.Name) and node.id in tables_of:
                return None, True
        if isinstance(node, ast.Attribute) and node.attr == "__table__":
            model, _ = self._table(node)
            return (model, True) if model else (None, True)
        model = self._model(node)
        return (model, False) if model else None

    def _raw_sql(self, scope: _Scope) -> Iterator[Violation]:
        """SQL in string literals: any row-changing statement (its table may be a
        placeholder, so it is presumed a tenant's), or a read naming a tenant table."""
        tenant_tables = {m.table for m in self.tree.models.values() if m.tenant}
        docstrings = {
            id(n.value)
            for n in scope.nodes
            if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant | ast.JoinedStr)
        }
        for node in scope.nodes:
            if id(node) in docstrings:
                continue
            if isinstance(node, ast.JoinedStr):
                sql = "".join(
                    str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if any(
                    node is v for j in scope.nodes if isinstance(j, ast.JoinedStr) for v in j.values
                ):
                    continue
                sql = node.value
            else:
                continue
            if SQL_WRITE.search(sql):
                yield self._violation(
                    node, "tenancy", f"{scope.qualname} writes rows through raw SQL"
                )
                continue
            for table in SQL_READ.findall(sql):
                if table.lower() in tenant_tables:
                    yield self._violation(
                        node,
                        "tenancy",
                        f"{scope.qualname} reads the tenant table {table} through raw SQL",
                    )

    # rule d

    def _ownership(self, scope: _Scope) -> Iterator[Violation]:
        mine = top_level(self.module.name)
        if self.module.name.startswith("reos.models"):
            return
        for call in self._calls(scope):
            written: Model | None = None
            how = ""
            model = self._model(call.func)
            if model is not None:
                written, how = model, f"{model.name}(...)"
            elif self._construct(call) in {"insert", "update", "delete"} and call.args:
                written, _ = self._table(call.args[0])
                how = self._construct(call) + "()"
            elif (
                isinstance(call.func, ast.Attribute)
                and call.func.attr.startswith(WRITE_METHOD_PREFIXES)
                and call.args
            ):
                target, core = self._table(call.args[0])
                if target is not None:
                    written, how = target, f".{call.func.attr}()"
            if written is None:
                continue
            owner = TABLE_OWNERS.get(written.name)
            if owner is None or owner == mine:
                continue
            yield self._violation(
                call,
                "table-owner",
                f"{scope.qualname} writes {written.name} ({written.table}) by {how}, "
                f"owned by {owner}",
            )


# --- the baseline ---------------------------------------------------------------------


def read_baseline(path: Path) -> list[tuple[int, str]]:
    """(line number, entry) for every debt in the baseline file; ``#`` starts a comment."""
    if not path.exists():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        entry = line.strip()
        if entry and not entry.startswith("#"):
            out.append((number, entry))
    return out


def compare(
    violations: Sequence[Violation], baseline: Sequence[tuple[int, str]]
) -> tuple[list[Violation], list[tuple[int, str]]]:
    """(violations not in the baseline, baseline entries that no longer occur). An entry
    listed twice stands for two occurrences."""
    remaining = Counter(entry for _, entry in baseline)
    new = []
    for v in violations:
        if remaining[v.key()] > 0:
            remaining[v.key()] -= 1
        else:
            new.append(v)
    stale = []
    for number, entry in reversed(baseline):
        if remaining[entry] > 0:
            remaining[entry] -= 1
            stale.append((number, entry))
    return new, sorted(stale)


def prune(path: Path, stale: Iterable[tuple[int, str]]) -> None:
    drop = {number for number, _ in stale}
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for number, line in enumerate(lines, 1) if number not in drop]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=here.parent / "src", help="the src dir")
    parser.add_argument("--baseline", type=Path, default=here / "architecture_baseline.txt")
    parser.add_argument(
        "--no-baseline", action="store_true", help="report every violation, known or not"
    )
    parser.add_argument(
        "--prune-baseline",
        action="store_true",
        help="delete baseline entries that no longer occur (never adds any)",
    )
    args = parser.parse_args(argv)
    if not (args.root / ROOT_PACKAGE).is_dir():
        print(f"error: no {ROOT_PACKAGE} package under {args.root}", file=sys.stderr)
        return 2
    try:
        violations = check(args.root)
    except Unreadable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    baseline = [] if args.no_baseline else read_baseline(args.baseline)
    new, stale = compare(violations, baseline)
    if args.prune_baseline and stale:
        prune(args.baseline, stale)
        print(f"removed {len(stale)} paid debts from {args.baseline}")
        stale = []
    for v in new:
        print(v)
    for number, entry in stale:
        print(f"{args.baseline}:{number}: baseline: no longer occurs, delete it: {entry}")
    known = len(violations) - len(new)
    if new or stale:
        print(
            f"architecture: {len(new)} new violations, {len(stale)} stale baseline entries "
            f"(see ARCHITECTURE.md)",
            file=sys.stderr,
        )
        return 1
    print(f"architecture: ok ({known} known debts in {args.baseline.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
