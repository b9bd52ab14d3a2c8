"""A synthetic county for pipeline tests and benchmarks: sales, owners and three lists.

Writes, into a directory, the files an investor would load: a sales file (parcel, site
address, coordinates, size, sale: the columns of a county deed and assessor export), an
owner file with one owner record per parcel (a fifth of them absentee owners mailing from
another state, some landlords owning several parcels), and three distress lists over the
same parcels (tax delinquent with the amount due, probate with a case number, vacant).
Deterministic for a given seed; no network.
"""

from __future__ import annotations

import csv
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

#: Share of the parcels on each list and the list's date.
LIST_SHARES = {"tax_delinquent": 0.08, "probate": 0.03, "vacant": 0.05}
LIST_DATE = "2023-11-01"
FIRST = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
         "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica")  # fmt: skip
LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
        "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas")  # fmt: skip
AWAY = (("Phoenix", "AZ", "85004"), ("Denver", "CO", "80202"), ("Austin", "TX", "78701"),
        ("Chicago", "IL", "60601"))  # fmt: skip


HEADER = ("APN", "Situs Address", "City", "State", "Zip", "Latitude", "Longitude",
          "Property Type", "Living Area", "Lot Size", "Beds", "Baths Full", "Baths Half",
          "Year Built", "Sale ID", "Sale Date", "Sale Price")  # fmt: skip
STREETS = ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Pine Rd", "Lake Dr",
           "Hill St", "Park Ave", "Ridge Rd", "Sunset Blvd", "River Rd", "Mill St")  # fmt: skip
CITIES = (("Ames", "50010", 42.03, -93.62), ("Des Moines", "50309", 41.59, -93.62),
          ("Cedar Rapids", "52401", 41.98, -91.67))  # fmt: skip


def write_sales(path: Path, properties: int, *, seed: int = 7) -> None:
    """``properties`` parcels sold once each in 2021-2023, a third of them again: a price
    of about $140 a square foot with noise (so the AVM has something to learn)."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        sale = 0
        for n in range(1, properties + 1):
            city, zip5, lat0, lon0 = CITIES[n % len(CITIES)]
            area = rng.randint(700, 3500)
            house = [f"{n:08d}-{n % 97:02d}", f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
                     city, "IA", zip5, f"{lat0 + rng.uniform(-0.03, 0.03):.6f}",
                     f"{lon0 + rng.uniform(-0.03, 0.03):.6f}", "Single Family", str(area),
                     str(rng.randint(3000, 15000)), str(rng.randint(2, 5)), str(rng.randint(1, 3)),
                     str(rng.randint(0, 1)), str(rng.randint(1920, 2015))]  # fmt: skip
            for _time in range(2 if rng.random() < 0.3 else 1):
                sale += 1
                day = f"{rng.randint(2021, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                price = round(area * 140 * rng.lognormvariate(0, 0.2), -2)
                writer.writerow([*house, f"S{seed}-{sale:08d}", day, f"{price:.0f}"])


@dataclass(frozen=True)
class World:
    sales: Path
    owners: Path
    lists: dict[str, Path]
    parcels: list[str]


def _parcels(sales: Path) -> list[tuple[str, str, str, str]]:
    """(parcel, address, city, zip) of each distinct parcel of a sales file, in order."""
    seen: dict[str, tuple[str, str, str, str]] = {}
    with sales.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            seen.setdefault(row["APN"], (row["APN"], row["Situs Address"], row["City"], row["Zip"]))
    return list(seen.values())


def write_world(directory: Path, properties: int, *, seed: int = 7) -> World:
    """Write the files of ``properties`` parcels (a third of them sold twice)."""
    directory.mkdir(parents=True, exist_ok=True)
    sales = directory / "sales.csv"
    write_sales(sales, properties, seed=seed)
    parcels = _parcels(sales)
    rng = random.Random(seed * 31 + 5)
    owners = directory / "owners.csv"
    landlords = [f"{LAST[i % len(LAST)]} Holdings LLC" for i in range(max(3, properties // 200))]
    with owners.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["owner_record_id", "parcel_number", "owner_name", "mailing_address",
                         "mailing_city", "mailing_state", "mailing_zip"])  # fmt: skip
        for n, (parcel, address, city, zip5) in enumerate(parcels, 1):
            draw = rng.random()
            if draw < 0.1:
                name = rng.choice(landlords)
                mail = ("100 Commerce Pkwy", *AWAY[rng.randrange(len(AWAY))])
            elif draw < 0.3:
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                mail = (f"{rng.randint(1, 999)} Elm St", *AWAY[rng.randrange(len(AWAY))])
            else:
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                mail = (address, city, "IA", zip5)
            writer.writerow([f"OWN-{n:07d}", parcel, name, *mail])
    lists: dict[str, Path] = {}
    for kind, share in LIST_SHARES.items():
        path = directory / f"{kind}.csv"
        pick = random.Random(f"{seed}:{kind}")
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            extra = {"tax_delinquent": "amount_due", "probate": "case_number"}.get(kind)
            writer.writerow(["apn", "filing_date", *([extra] if extra else [])])
            for parcel, *_rest in parcels:
                if pick.random() >= share:
                    continue
                detail = {
                    "tax_delinquent": [f"{pick.randint(500, 20_000)}.00"],
                    "probate": [f"PR-{pick.randint(1000, 9999)}"],
                }.get(kind, [])
                writer.writerow([parcel, LIST_DATE, *detail])
        lists[kind] = path
    return World(sales, owners, lists, [p[0] for p in parcels])


def write_resales(path: Path, parcels: list[str], count: int, *, seed: int = 11) -> Path:
    """A sales file of ``count`` new sales of existing parcels (what changes between two
    runs): the parcel and a sale id, date and price."""
    rng = random.Random(seed)
    chosen = rng.sample(parcels, min(count, len(parcels)))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["APN", "Sale ID", "Sale Date", "Sale Price"])
        for n, parcel in enumerate(chosen, 1):
            writer.writerow([parcel, f"RS{seed}-{n:07d}", "2023-12-15",
                             f"{rng.randint(80, 700) * 1000}"])  # fmt: skip
    return path


#: The day a synthetic world is valued and underwritten as of: its sales end in 2023.
WORLD_VALUATION_DATE = "2023-12-31"
#: The flip every synthetic organisation assumes: rehab budget (dollars), months held.
WORLD_FLIP_DEFAULTS = {"rehab_cost": 25_000, "holding_months": 6}


def load_world(org_id: uuid.UUID, world: World, *, chunk_properties: int = 500) -> None:
    """Import a world's sales, owners and lists into an organisation, train its AVM, and
    set the flip defaults and pipeline settings a run of it uses (one transaction each)."""
    from datetime import date

    from reos.db.session import tenant_session
    from reos.dealflow import service as dealflow_service
    from reos.ingest import service as ingest_service
    from reos.pipeline import service as pipeline_service
    from reos.underwriting import service as underwriting_service
    from reos.valuation import service as valuation_service

    ingest_service.import_file(world.sales, "sales", org_id=org_id, today=date(2024, 6, 1))
    ingest_service.import_file(world.owners, "owners", org_id=org_id, today=date(2024, 6, 1))
    with tenant_session(org_id) as session:
        valuation_service.train_model(session)
    for kind, path in world.lists.items():
        with tenant_session(org_id) as session:
            dealflow_service.import_list(session, path, kind, name=f"county {kind}")
    with tenant_session(org_id) as session:
        underwriting_service.set_defaults(session, "flip", WORLD_FLIP_DEFAULTS)
        pipeline_service.update_settings(
            session,
            strategy="flip",
            chunk_properties=chunk_properties,
            valuation_date=date.fromisoformat(WORLD_VALUATION_DATE),
        )
