"""Seeded, labelled owner rosters for testing and benchmarking owner resolution.

Why: there is no public labelled owner roster, and accuracy claims need known truth. The
generator writes county-export-style records with the variation real rolls show: assessor
LAST FIRST MIDDLE vs First Last vs "Last, First", nicknames, typos, dropped middle names,
couples written four ways, trusts, LLC name variants (punctuation, suffix spelling,
"THE"), one landlord with several LLCs at one office, address format variants (St/Street,
unit formats, case, ZIP+4), owners who moved, and many different people with common
surnames in the same city (so precision is really tested).

On top of those, ``error_rate`` of the records (never an entity's first) carry the errors
FEBRL's generator injects into duplicates (Christen 2005, "Probabilistic data generation
for deduplication and data linkage"), one to three per record: keyboard typos (insert,
delete, substitute with a neighbouring key, transpose), OCR confusions (0/O, 1/I, 5/S,
RN/M ...), phonetic respellings (PH/F, CK/K, IE/EI ...), a missing value (given name,
street number, city or ZIP), given name and surname swapped, and abbreviations (the given
name cut to its initial, MOUNT -> MT, SAINT -> ST).

Truth (``true_entity``) follows the definition in ``reos.owners.resolution``: records are one
entity when connected through a shared real party (person, company, trust). Each generated
owner unit is one entity because a couple's first record always names both spouses; sibling
LLCs of one landlord are separate entities that share ``true_group`` (related, not merged).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from reos.owners.nicknames import NICKNAMES

_COMMON_LAST = [
    "SMITH",
    "JOHNSON",
    "GARCIA",
    "WILLIAMS",
    "BROWN",
    "JONES",
    "MILLER",
    "DAVIS",
    "RODRIGUEZ",
    "MARTINEZ",
    "HERNANDEZ",
    "LOPEZ",
    "GONZALEZ",
    "WILSON",
    "ANDERSON",
    "NGUYEN",
    "LEE",
    "PATEL",
    "KIM",
    "TAYLOR",
]
_OTHER_LAST = """THOMAS MOORE JACKSON MARTIN THOMPSON WHITE HARRIS CLARK LEWIS ROBINSON WALKER
YOUNG ALLEN KING WRIGHT SCOTT TORRES HILL FLORES GREEN ADAMS NELSON BAKER HALL RIVERA CAMPBELL
MITCHELL CARTER ROBERTS GOMEZ PHILLIPS EVANS TURNER DIAZ PARKER CRUZ EDWARDS COLLINS REYES
STEWART MORRIS MORALES MURPHY COOK ROGERS GUTIERREZ ORTIZ MORGAN COOPER PETERSON BAILEY REED
KELLY HOWARD RAMOS COX WARD RICHARDSON WATSON BROOKS CHAVEZ WOOD JAMES BENNETT GRAY MENDOZA
RUIZ HUGHES PRICE ALVAREZ CASTILLO SANDERS MYERS LONG ROSS FOSTER JIMENEZ POWELL JENKINS PERRY
RUSSELL SULLIVAN BELL COLEMAN BUTLER HENDERSON BARNES GONZALES FISHER VASQUEZ SIMMONS GRAHAM
OBRIEN MCDONALD DELACRUZ VANDYKE OCONNOR SCHROEDER WEBER KOWALSKI OKAFOR CHEN WANG ZHANG LIU
YAMAMOTO TANAKA SINGH SHAH KHAN ALI IVANOV PETROV NOVAK""".split()
_MALE = """JAMES ROBERT JOHN MICHAEL DAVID WILLIAM RICHARD JOSEPH THOMAS CHARLES CHRISTOPHER DANIEL
MATTHEW ANTHONY MARK DONALD STEVEN PAUL ANDREW JOSHUA KENNETH KEVIN BRIAN GEORGE TIMOTHY RONALD
EDWARD JASON JEFFREY RYAN JACOB GARY NICHOLAS ERIC JONATHAN STEPHEN LARRY JUSTIN SCOTT BRANDON
BENJAMIN SAMUEL GREGORY FRANK ALEXANDER RAYMOND PATRICK JACK DENNIS JERRY TYLER AARON JOSE
ADAM HENRY NATHAN DOUGLAS ZACHARY PETER KYLE WALTER HAROLD JEREMY ETHAN CARL KEITH ROGER
GERALD CHRISTIAN TERRY SEAN ARTHUR AUSTIN NOAH LAWRENCE JESSE JOE BRYAN BILLY JORDAN ALBERT
DYLAN BRUCE WILLIE GABRIEL ALAN JUAN LOGAN WAYNE RALPH ROY EUGENE RANDY VINCENT RUSSELL LOUIS
PHILIP BOBBY JOHNNY BRADLEY CARLOS LUIS MIGUEL""".split()
_FEMALE = """MARY PATRICIA JENNIFER LINDA ELIZABETH BARBARA SUSAN JESSICA SARAH KAREN LISA NANCY
BETTY MARGARET SANDRA ASHLEY KIMBERLY EMILY DONNA MICHELLE CAROL AMANDA DOROTHY MELISSA DEBORAH
STEPHANIE REBECCA SHARON LAURA CYNTHIA KATHLEEN AMY ANGELA SHIRLEY ANNA BRENDA PAMELA EMMA
NICOLE HELEN SAMANTHA KATHERINE CHRISTINE DEBRA RACHEL CATHERINE CAROLYN JANET RUTH MARIA
HEATHER DIANE VIRGINIA JULIE JOYCE VICTORIA OLIVIA KELLY CHRISTINA LAUREN JOAN EVELYN JUDITH
MEGAN CHERYL ANDREA HANNAH MARTHA JACQUELINE FRANCES GLORIA ANN TERESA KATHRYN SARA JANICE
JEAN ALICE MADISON DORIS ABIGAIL JULIA JUDY GRACE DENISE AMBER MARILYN BEVERLY DANIELLE
THERESA SOPHIA MARIE DIANA BRITTANY NATALIE ISABELLA CHARLOTTE ROSE ALEXIS KAYLA""".split()
_LLC_A = """MAPLE OAK CEDAR PINE BIRCH WILLOW ASPEN SUMMIT RIDGE CANYON RIVER LAKE HARBOR
GOLDEN SILVER EAGLE FALCON BLUE RED GREEN STONE IRON BRIGHT NORTH SOUTH EAST WEST PRIME APEX
LEGACY HERITAGE KEYSTONE CORNER PIONEER LIBERTY FRONTIER CRESCENT MERIDIAN BEACON""".split()
_LLC_B = """RIDGE HOLLOW CREEK VIEW POINT PARK GROVE HILL VALLEY BROOK FIELD GATE WOOD
CROSSING HEIGHTS SPRINGS LANDING""".split()
_LLC_C = [
    "HOLDINGS",
    "PROPERTIES",
    "RENTALS",
    "INVESTMENTS",
    "CAPITAL",
    "REALTY",
    "HOMES",
    "VENTURES",
    "PARTNERS",
    "GROUP",
    "ASSETS",
    "EQUITY",
]
_STREETS = """MAIN OAK PINE MAPLE CEDAR ELM WASHINGTON LAKE HILL PARK WALNUT SUNSET RIVER
JEFFERSON LINCOLN MADISON FRANKLIN CHESTNUT SPRUCE WILLOW HICKORY JACKSON MEADOW FOREST
HIGHLAND CHURCH MILL SPRING VALLEY RIDGE CREEK ASH BIRCH DOGWOOD MAGNOLIA PECAN COTTONWOOD
BLUEBONNET LAMAR BURNET GUADALUPE CONGRESS BARTON MOPAC RIVERSIDE OLTORF SLAUGHTER""".split()
_TYPES = [
    ("ST", "STREET"),
    ("AVE", "AVENUE"),
    ("DR", "DRIVE"),
    ("RD", "ROAD"),
    ("LN", "LANE"),
    ("BLVD", "BOULEVARD"),
    ("CT", "COURT"),
    ("PL", "PLACE"),
    ("WAY", "WAY"),
    ("CIR", "CIRCLE"),
    ("TRL", "TRAIL"),
    ("PKWY", "PARKWAY"),
]
_DIRS = [("N", "NORTH"), ("S", "SOUTH"), ("E", "EAST"), ("W", "WEST")]
_LOCAL = [
    ("AUSTIN", "787", 60),
    ("ROUND ROCK", "786", 6),
    ("PFLUGERVILLE", "786", 4),
    ("CEDAR PARK", "786", 4),
]
_AWAY = [
    ("DALLAS", "TX", "752"),
    ("HOUSTON", "TX", "770"),
    ("SAN ANTONIO", "TX", "782"),
    ("DENVER", "CO", "802"),
    ("PHOENIX", "AZ", "850"),
    ("LOS ANGELES", "CA", "900"),
    ("SAN JOSE", "CA", "951"),
    ("CHICAGO", "IL", "606"),
    ("NEW YORK", "NY", "100"),
    ("MIAMI", "FL", "331"),
    ("SEATTLE", "WA", "981"),
    ("ATLANTA", "GA", "303"),
]
_FOREIGN = [
    ("123 QUEEN ST W", "TORONTO ON M5H 2M9", "CANADA"),
    ("45 HIGH STREET", "LONDON SW1A 1AA", "UNITED KINGDOM"),
    ("AV REFORMA 222", "CIUDAD DE MEXICO 06600", "MEXICO"),
]


@dataclass
class _Address:
    number: str
    direction: tuple[str, str] | None
    street: str
    stype: tuple[str, str]
    unit: str | None
    city: str
    state: str
    zip5: str
    po_box: str | None = None
    foreign: tuple[str, str, str] | None = None


@dataclass
class _Person:
    first: str
    middle: str | None
    last: str
    suffix: str | None = None


def _pick_last(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.35:
        return rng.choice(_COMMON_LAST[:6]) if rng.random() < 0.6 else rng.choice(_COMMON_LAST)
    if r < 0.8:
        return rng.choice(_OTHER_LAST)
    # long tail: invented but pronounceable surnames
    syll = [
        "BAR",
        "KEL",
        "MOR",
        "TAN",
        "VIL",
        "DOR",
        "SAN",
        "LIN",
        "GRA",
        "HAL",
        "WIN",
        "ROS",
        "BEL",
        "CAR",
        "FEN",
        "MAR",
        "TOR",
        "LAN",
        "DEN",
        "KIR",
    ]
    end = ["SON", "TON", "LEY", "MAN", "ER", "ERS", "EZ", "INI", "OV", "SKI", "BERG", "FORD"]
    return rng.choice(syll) + rng.choice(syll).lower().upper() + rng.choice(end)


def _pick_first(rng: random.Random, female: bool) -> str:
    names = _FEMALE if female else _MALE
    # heavy head: a few names very common, as in real rolls
    idx = min(int(rng.paretovariate(1.2)) - 1, len(names) - 1)
    return names[idx] if rng.random() < 0.6 else rng.choice(names)


def _person(rng: random.Random, female: bool, last: str | None = None) -> _Person:
    middle = None
    if rng.random() < 0.75:
        middle = (
            _pick_first(rng, female) if rng.random() < 0.6 else rng.choice(string.ascii_uppercase)
        )
    suffix = "JR" if (not female and rng.random() < 0.03) else None
    return _Person(_pick_first(rng, female), middle, last or _pick_last(rng), suffix)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word))
    op = rng.random()
    if op < 0.4:
        return word[:i] + word[i + 1 :]
    if op < 0.7 and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice("AEIOURSTN") + word[i + 1 :]


_NICK_BY_CANON: dict[str, list[str]] = {}
for _nick, _canon in NICKNAMES.items():
    if len(_nick) > 2 and _nick.isalpha():
        _NICK_BY_CANON.setdefault(_canon, []).append(_nick)


def _variant_person(rng: random.Random, p: _Person) -> _Person:
    first, middle, last = p.first, p.middle, p.last
    if rng.random() < 0.12 and first in _NICK_BY_CANON:
        first = rng.choice(_NICK_BY_CANON[first])
    if rng.random() < 0.04:
        first = _typo(rng, first)
    if rng.random() < 0.04:
        last = _typo(rng, last)
    if middle and rng.random() < 0.3:
        middle = None
    elif middle and rng.random() < 0.4:
        middle = middle[0]
    suffix = p.suffix if rng.random() < 0.8 else None
    return _Person(first, middle, last, suffix)


def _fmt_person(rng: random.Random, p: _Person, style: str) -> str:
    mid = f" {p.middle}" if p.middle else ""
    suf = f" {p.suffix}" if p.suffix else ""
    if style == "assessor":
        return f"{p.last} {p.first}{mid}{suf}"
    if style == "comma":
        return f"{p.last}, {p.first}{mid}{suf}"
    if style == "first_last":
        return f"{p.first}{mid} {p.last}{suf}"
    if style == "mixed":
        return f"{p.first}{mid} {p.last}{suf}".title()
    if style == "initials":
        m = f" {p.middle[0]}" if p.middle else ""
        return f"{p.first[0]}{m} {p.last}{suf}"
    return f"{p.last} {p.first}{mid}{suf}"


def _person_style(rng: random.Random) -> str:
    return rng.choices(
        ["assessor", "comma", "first_last", "mixed", "initials"], [0.6, 0.1, 0.1, 0.15, 0.05]
    )[0]


def _couple_names(rng: random.Random, a: _Person, b: _Person) -> tuple[str, str | None]:
    a, b = _variant_person(rng, a), _variant_person(rng, b)
    same = a.last == b.last
    r = rng.random()
    bmid = f" {b.middle}" if b.middle else ""
    if same and r < 0.45:
        return f"{_fmt_person(rng, a, 'assessor')} & {b.first}{bmid}", None
    if same and r < 0.55:
        return f"{a.first} & {b.first} {a.last}".title(), None
    if same and r < 0.62:
        return f"{_fmt_person(rng, a, 'assessor')} ETUX {b.first}{bmid}", None
    if r < 0.8:
        return _fmt_person(rng, a, "assessor"), _fmt_person(rng, b, "assessor")
    style = rng.choice(["assessor", "first_last", "mixed"])
    return f"{_fmt_person(rng, a, style)} & {_fmt_person(rng, b, style)}", None


def _trust_names(rng: random.Random, owner: _Person, family: bool) -> str:
    p = _variant_person(rng, owner)
    if family:
        return rng.choice(
            [
                f"{owner.last} FAMILY TRUST",
                f"THE {owner.last} FAMILY TRUST",
                f"{owner.last} FAMILY TR",
                f"{owner.last} FAMILY TRUST DTD 05/12/2004",
                f"{owner.last} FAM TRUST",
                f"{owner.last.title()} Family Trust",
            ]
        )
    mid = f" {owner.middle[0]}" if owner.middle else ""
    return rng.choice(
        [
            f"{owner.first}{mid} {owner.last} REVOCABLE TRUST",
            f"{owner.last} {owner.first}{mid} TR",
            f"{owner.last} {owner.first}{mid} TRUSTEE",
            f"{p.first} {p.last} REV LIV TRUST",
            f"{owner.last} {owner.first}{mid} TRS",
            f"{owner.first}{mid} {owner.last} LIVING TRUST",
        ]
    )


def _llc_base(rng: random.Random, stem: str | None = None) -> str:
    a = stem or f"{rng.choice(_LLC_A)} {rng.choice(_LLC_B)}"
    return f"{a} {rng.choice(_LLC_C)}"


def _llc_variant(rng: random.Random, base: str, suffix: str) -> str:
    r = rng.random()
    name = base
    if rng.random() < 0.03:
        words = name.split()
        k = rng.randrange(len(words))
        words[k] = _typo(rng, words[k])
        name = " ".join(words)
    if r < 0.35:
        out = f"{name} {suffix}"
    elif r < 0.5:
        out = f"{name}, {'L.L.C.' if suffix == 'LLC' else suffix + '.'}"
    elif r < 0.62:
        long_form = {
            "LLC": "LIMITED LIABILITY COMPANY",
            "INC": "INCORPORATED",
            "LP": "LIMITED PARTNERSHIP",
        }
        out = f"{name} {long_form[suffix]}"
    elif r < 0.74:
        out = f"THE {name} {suffix}"
    elif r < 0.87:
        out = f"{name} {suffix}".title().replace("Llc", "LLC")
    else:
        out = f"{name.replace('HOLDINGS', 'HLDGS').replace('PROPERTIES', 'PROPS')} {suffix}"
    return out


def _new_address(rng: random.Random, local: bool, po_box: bool = False) -> _Address:
    if local:
        city, z3, _ = rng.choices(_LOCAL, [c[2] for c in _LOCAL])[0]
        state = "TX"
    else:
        city, state, z3 = rng.choice(_AWAY)
    zip5 = z3 + f"{rng.randrange(1, 60):02d}"
    if po_box:
        return _Address(
            "", None, "", ("", ""), None, city, state, zip5, po_box=str(rng.randrange(1, 9999))
        )
    unit = None
    if rng.random() < 0.12:
        unit = str(rng.choice([rng.randrange(1, 400), rng.choice("ABCD")]))
    direction = rng.choice(_DIRS) if rng.random() < 0.2 else None
    return _Address(
        str(rng.randrange(100, 19999)),
        direction,
        rng.choice(_STREETS),
        rng.choice(_TYPES),
        unit,
        city,
        state,
        zip5,
    )


def _fmt_address(rng: random.Random, a: _Address) -> dict[str, Any]:
    zip_text = a.zip5
    if rng.random() < 0.15:
        zip_text = f"{a.zip5}-{rng.randrange(1000, 9999)}"
    if rng.random() < 0.02:
        zip_text = ""
    if a.foreign:
        line, city_line, country = a.foreign
        return {
            "mailing_address": line,
            "mailing_address_2": None,
            "mailing_city": city_line,
            "mailing_state": None,
            "mailing_zip": None,
            "mailing_country": country,
        }
    if a.po_box:
        line = rng.choice([f"PO BOX {a.po_box}", f"P.O. Box {a.po_box}", f"P O BOX {a.po_box}"])
    else:
        long_form = rng.random() < 0.3
        stype = a.stype[1] if long_form else a.stype[0]
        if a.direction:
            d = a.direction[1] if (long_form and rng.random() < 0.5) else a.direction[0]
            if rng.random() < 0.2:
                d += "."
            street = f"{d} {a.street} {stype}"
        else:
            street = f"{a.street} {stype}"
        line = f"{a.number} {street}"
        if a.unit:
            fmt = rng.choice(["APT {}", "UNIT {}", "#{}", "STE {}", "# {}"])
            line += " " + fmt.format(a.unit)
        if rng.random() < 0.1:
            line += "."
    city = a.city
    if rng.random() < 0.3:
        line, city = line.title(), city.title()
    return {
        "mailing_address": line,
        "mailing_address_2": None,
        "mailing_city": city,
        "mailing_state": a.state,
        "mailing_zip": zip_text,
        "mailing_country": None,
    }


_KEYBOARD = {
    row[i]: row[max(i - 1, 0)] + row[min(i + 1, len(row) - 1)]
    for row in ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
    for i in range(len(row))
}
_OCR = [("O", "0"), ("I", "1"), ("S", "5"), ("B", "8"), ("RN", "M"), ("CL", "D"), ("G", "6")]
_PHONETIC = [("PH", "F"), ("CK", "K"), ("IE", "EI"), ("C", "K"), ("Y", "I"), ("EE", "EA"),
             ("OU", "OW"), ("SS", "S"), ("LL", "L"), ("TH", "T")]  # fmt: skip
_ABBREVIATIONS = [("MOUNT ", "MT "), ("SAINT ", "ST "), ("NORTH ", "N "), ("FORT ", "FT ")]


def febrl_typo(rng: random.Random, word: str) -> str:
    """One FEBRL-style typographical error: insert, delete, substitute (a neighbouring key)
    or transpose, at a random position after the first letter."""
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word))
    op = rng.random()
    if op < 0.25:
        return word[:i] + rng.choice(_KEYBOARD.get(word[i].upper(), "E")) + word[i:]
    if op < 0.5:
        return word[:i] + word[i + 1 :]
    if op < 0.75:
        return word[:i] + rng.choice(_KEYBOARD.get(word[i].upper(), "E")) + word[i + 1 :]
    if i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[: i - 1] + word[i] + word[i - 1]


def _replace_one(rng: random.Random, word: str, table: list[tuple[str, str]]) -> str:
    upper = word.upper()
    found = [(a, b) for a, b in table if a in upper] + [(b, a) for a, b in table if b in upper]
    if not found:
        return febrl_typo(rng, word)
    a, b = rng.choice(found)
    i = upper.index(a)
    return word[:i] + (b if word[i : i + len(a)].isupper() else b.lower()) + word[i + len(a) :]


def _febrl_errors(rng: random.Random, rec: dict[str, Any]) -> None:
    """One to three FEBRL-style modifications of a person's record, in place."""
    for _ in range(rng.choice((1, 1, 2, 3))):
        op = rng.random()
        name = rec.get("owner_name") or ""
        if op < 0.45 and name:
            words = name.split()
            k = rng.randrange(len(words))
            kind = rng.random()
            table = _OCR if kind < 0.15 else (_PHONETIC if kind < 0.35 else None)
            words[k] = _replace_one(rng, words[k], table) if table else febrl_typo(rng, words[k])
            rec["owner_name"] = " ".join(words)
        elif op < 0.6 and rec.get("mailing_address"):
            words = str(rec["mailing_address"]).split()
            k = rng.randrange(len(words))
            words[k] = febrl_typo(rng, words[k])
            rec["mailing_address"] = " ".join(words)
        elif op < 0.72:
            field_name = rng.choice(
                ("mailing_city", "mailing_zip", "mailing_address", "owner_name")
            )
            if field_name == "owner_name":
                words = name.replace(",", "").split()
                if len(words) > 1:  # the given name missing: the surname alone
                    surname_first = "," in name or name.isupper()
                    rec["owner_name"] = words[0] if surname_first else words[-1]
            elif field_name == "mailing_address" and rec.get("mailing_address"):
                words = str(rec["mailing_address"]).split()
                if words and words[0].isdigit():  # the street number missing
                    rec["mailing_address"] = " ".join(words[1:])
            else:
                rec[field_name] = None
        elif op < 0.82 and rec.get("mailing_zip"):
            z = str(rec["mailing_zip"])[:5]
            if len(z) == 5:
                i = rng.randrange(2, 5)
                rec["mailing_zip"] = z[:i] + str(rng.randrange(10)) + z[i + 1 :]
        elif op < 0.92 and name and "," in name:
            last, _, rest = name.partition(",")
            rec["owner_name"] = f"{rest.strip()}, {last.strip()}"  # given and surname swapped
        elif name:
            words = name.split()
            if len(words) > 1 and rng.random() < 0.5:
                k = 1 if ("," in name or name.isupper()) else 0
                words[k] = words[k][0]  # the given name abbreviated to its initial
                rec["owner_name"] = " ".join(words)
            else:
                for long, short in _ABBREVIATIONS:
                    city = str(rec.get("mailing_city") or "")
                    if city.upper().startswith(long):
                        rec["mailing_city"] = short + city[len(long) :]
                        break


def generate_owner_records(
    n_records: int = 1000, *, seed: int = 7, error_rate: float = 0.0
) -> pd.DataFrame:
    """A labelled roster of about ``n_records`` owner records; ``error_rate`` of the
    records of people (not an entity's first record) carry FEBRL-style errors.

    Columns: the owner-record input columns, property situs columns, ``last_sale_date``,
    ``estimated_value``, ``true_entity`` (truth for resolution) and ``true_group`` (the
    landlord behind several LLCs, else the entity itself).
    """
    rng = random.Random(seed)
    errors_rng = random.Random(seed * 7919 + 1)
    seen: dict[str, bool] = {}
    kind = "person"
    rows: list[dict[str, Any]] = []
    unit_no = 0
    start = date(2024, 6, 30)

    def add(
        entity: str, group: str, name: str, name2: str | None, mail: _Address, occupied: bool
    ) -> None:
        prop = (
            mail
            if (occupied and not mail.po_box and not mail.foreign and mail.state == "TX")
            else _new_address(rng, True)
        )
        rec = {
            "record_id": f"R{len(rows) + 1:07d}",
            "owner_name": name,
            "owner_name_2": name2,
            **_fmt_address(rng, mail),
            "property_address": f"{prop.number} {prop.street} {prop.stype[0]}"
            + (f" UNIT {prop.unit}" if prop.unit else ""),
            "property_city": prop.city,
            "property_state": "TX",
            "property_zip": prop.zip5,
            "property_id": f"P{len(rows) + 1:07d}",
            "last_sale_date": (start - timedelta(days=rng.randrange(30, 12000))).isoformat(),
            "estimated_value": round(rng.lognormvariate(12.8, 0.45), -3),
            "true_entity": entity,
            "true_group": group,
        }
        person = "&" not in name and not name2 and kind in ("person", "couple")
        if person and seen.get(entity) and errors_rng.random() < error_rate:
            _febrl_errors(errors_rng, rec)
        seen[entity] = True
        rows.append(rec)

    while len(rows) < n_records:
        unit_no += 1
        entity = f"T{unit_no:06d}"
        kind = rng.choices(
            ["person", "couple", "trust", "landlord", "other"], [0.50, 0.24, 0.08, 0.15, 0.03]
        )[0]
        local = rng.random() < 0.8
        po = rng.random() < 0.05
        home = _new_address(rng, local, po_box=po)
        if rng.random() < 0.01:
            home.foreign = rng.choice(_FOREIGN)
        moved = _new_address(rng, rng.random() < 0.8) if rng.random() < 0.08 else None
        n_props = 1 + min(int(rng.expovariate(1.3)), 8)
        if kind in ("person", "couple"):
            a = _person(rng, female=rng.random() < 0.3)
            b = (
                _person(rng, True, a.last if rng.random() < 0.85 else None)
                if kind == "couple"
                else None
            )
            for k in range(n_props):
                mail = moved if (moved and k > 0 and rng.random() < 0.5) else home
                occupied = k == 0 and rng.random() < 0.7
                if b is None:
                    v = _variant_person(rng, a)
                    add(
                        entity,
                        entity,
                        _fmt_person(rng, v, _person_style(rng)),
                        None,
                        mail,
                        occupied,
                    )
                else:
                    r = rng.random()
                    if k == 0 or r < 0.7:
                        n1, n2 = _couple_names(rng, a, b)
                    else:
                        who = a if r < 0.85 else b
                        n1, n2 = (
                            _fmt_person(rng, _variant_person(rng, who), _person_style(rng)),
                            None,
                        )
                    add(entity, entity, n1, n2, mail, occupied)
        elif kind == "trust":
            owner = _person(rng, rng.random() < 0.4)
            family = rng.random() < 0.5
            for k in range(n_props):
                mail = moved if (moved and k > 0 and rng.random() < 0.5) else home
                add(entity, entity, _trust_names(rng, owner, family), None, mail, k == 0)
        elif kind == "landlord":
            office = _new_address(rng, rng.random() < 0.7, po_box=rng.random() < 0.15)
            n_llcs = 1 + min(int(rng.expovariate(0.9)), 5)
            stem = f"{rng.choice(_LLC_A)} {rng.choice(_LLC_B)}"
            manager = _person(rng, rng.random() < 0.3)
            for j in range(n_llcs):
                llc_entity = f"{entity}-{j}" if j else entity
                if j and rng.random() < 0.4:
                    base = _llc_base(rng, stem)
                    if rng.random() < 0.5:
                        base = f"{stem} {rng.choice(_LLC_C)} {rng.choice(['II', 'III', '2', '3'])}"
                else:
                    base = _llc_base(rng)
                suffix = rng.choices(["LLC", "INC", "LP"], [0.8, 0.15, 0.05])[0]
                for _k in range(1 + min(int(rng.expovariate(0.8)), 10)):
                    name2 = f"C/O {manager.first} {manager.last}" if rng.random() < 0.1 else None
                    add(llc_entity, entity, _llc_variant(rng, base, suffix), name2, office, False)
        else:
            base = rng.choice(
                [
                    f"CITY OF {rng.choice(_LOCAL)[0]}",
                    "TRAVIS COUNTY",
                    f"{rng.choice(_LLC_A)} BAPTIST CHURCH",
                    f"{rng.choice(_LLC_A)} HOMEOWNERS ASSOCIATION",
                    f"{rng.choice(_LLC_A)} BANK NA",
                ]
            )
            for _k in range(n_props):
                add(entity, entity, base if rng.random() < 0.7 else base.title(), None, home, False)
    return pd.DataFrame(rows[:n_records])
