"""Synthetic sales files for benchmarks and crash tests: realistic shape, known answers.

Each row is one sale with its property's fields (as county deed + assessor exports look):
parcel number, site address, city/state/zip, coordinates, size, beds/baths, year built,
sale id, date, price. Properties repeat at ``repeat_rate`` (a resale of an earlier house,
same parcel and address, a later date and another price), and ``dirty_rate`` of rows carry
a mistake the validation gate must quarantine (a price that is not a number, a future
date, a latitude out of range). Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

HEADER: tuple[str, ...] = (
    "APN", "Situs Address", "City", "State", "Zip", "Latitude", "Longitude", "Property Type",
    "Living Area", "Lot Size", "Beds", "Baths Full", "Baths Half", "Year Built", "Sale ID",
    "Sale Date", "Sale Price",
)  # fmt: skip
STREETS = ("Main", "Oak", "Maple", "Cedar", "Elm", "Pine", "Lake", "Hill", "Park", "Washington",
           "Lincoln", "Jackson", "Ridge", "Sunset", "River", "Church", "Mill", "Spring", "Walnut", "Chestnut")  # fmt: skip
SUFFIXES = (
    "Street",
    "St",
    "Avenue",
    "Ave",
    "Road",
    "Rd",
    "Drive",
    "Dr",
    "Lane",
    "Ct",
    "Blvd",
    "Way",
)
CITIES = (("Ames", "IA", "50010", 42.03, -93.62), ("Des Moines", "IA", "50309", 41.59, -93.62),
          ("Cedar Rapids", "IA", "52401", 41.98, -91.67), ("Davenport", "IA", "52801", 41.52, -90.58))  # fmt: skip


@dataclass(frozen=True)
class Expected:
    rows: int
    properties: int  # distinct parcels among valid rows
    sales: int  # valid rows (each a distinct sale)
    dirty: int  # rows the gate must quarantine


def write_sales_file(path: str | Path, rows: int, *, repeat_rate: float = 0.3, dirty_rate: float = 0.01,
                     seed: int = 7) -> Expected:  # fmt: skip
    """Write ``rows`` sales to a CSV file and return what a correct import must produce."""
    rng = random.Random(seed)
    parcels: list[tuple[str, ...]] = []
    valid_parcels: set[str] = set()
    dirty = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(1, rows + 1):
            if parcels and rng.random() < repeat_rate:
                prop = parcels[rng.randrange(len(parcels))]
            else:
                city, state, zip5, lat0, lon0 = CITIES[rng.randrange(len(CITIES))]
                number = rng.randint(1, 9999)
                street = f"{STREETS[rng.randrange(len(STREETS))]} {SUFFIXES[rng.randrange(len(SUFFIXES))]}"
                unit = f" Apt {rng.randint(1, 40)}" if rng.random() < 0.08 else ""
                prop = (
                    f"{len(parcels) + 1:08d}-{rng.randint(10, 99)}",
                    f"{number} {'N ' if rng.random() < 0.1 else ''}{street}{unit}",
                    city, state, zip5,
                    f"{lat0 + rng.uniform(-0.05, 0.05):.6f}", f"{lon0 + rng.uniform(-0.05, 0.05):.6f}",
                    rng.choice(("Single Family", "SFR", "Condo", "Townhouse")),
                    str(rng.randint(600, 4500)), f"{rng.randint(2000, 30000):,}",
                    str(rng.randint(1, 6)), str(rng.randint(1, 4)), str(rng.randint(0, 2)),
                    str(rng.randint(1900, 2020)),
                )  # fmt: skip
                parcels.append(prop)
            year = rng.randint(2000, 2023)
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            date_text = rng.choice((f"{year}-{month:02d}-{day:02d}", f"{month}/{day}/{year}"))
            price = f"${rng.randint(50, 900) * 1000 + rng.randint(0, 999):,}"
            sale = [f"D{seed}-{i:09d}", date_text, price]
            if rng.random() < dirty_rate:
                dirty += 1
                kind = rng.randrange(3)
                if kind == 0:
                    sale[2] = "call agent"
                elif kind == 1:
                    sale[1] = "2099-01-01"
                else:
                    prop = (*prop[:5], "123.5", *prop[6:])
            else:
                valid_parcels.add(prop[0])
            writer.writerow([*prop, *sale])
    return Expected(rows=rows, properties=len(valid_parcels), sales=rows - dirty, dirty=dirty)
