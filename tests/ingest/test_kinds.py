"""The registry of record kinds: each kind is written by the domain that owns its tables,
an unknown kind is refused by name, and declaring kinds costs a spawned worker nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reos.errors import ValidationFailed
from reos.ingest.kinds import kind_of
from reos.kernel.vocabulary import Entity


@pytest.mark.parametrize(
    ("record", "domain", "tables"),
    [
        ("property", "reos.properties.", "properties"),
        ("sale", "reos.properties.", "properties, sales"),
        ("owner", "reos.owners.", "owner_records, properties"),
        ("rent", "reos.underwriting.", "rent_listings"),
    ],
)
def test_each_kind_is_written_by_its_owning_domain(record: str, domain: str, tables: str) -> None:
    kind = kind_of(record)
    assert kind.entity is Entity(record)
    assert kind.writer.startswith(domain)
    assert kind.tables == tables
    assert callable(kind.write())
    assert {f.entity for f in kind.fields()} == {Entity(record)}


def test_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(ValidationFailed) as caught:
        kind_of("lease")
    assert (
        caught.value.message
        == "unknown record kind 'lease'; use one of owner, property, rent, sale"
    )
    assert caught.value.field == "record"


def test_declaring_the_kinds_imports_no_writer_and_no_heavy_library() -> None:
    """The mapping worker is spawned and re-imports what it uses: looking kinds up must not
    pull the bulk write paths, the ORM models or SQLAlchemy."""
    code = (
        "import sys\n"
        "from reos.ingest.kinds import kind_of\n"
        "for name in ('property', 'sale', 'owner', 'rent'): kind_of(name)\n"
        "heavy = ('sqlalchemy', 'pandas', 'pydantic', 'reos.models', 'reos.properties.bulk',\n"
        "         'reos.owners.bulk', 'reos.underwriting.bulk')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
