"""Owner-name parsing: one raw owner string -> the parties who own, each classified.

Why this exists: the deal is with the owner, and the owner column of a county export or
list vendor file packs several facts into one string: who (one person, a couple, a company,
a trust, a government body), in which order ("SMITH JOHN A" is the assessor's LAST FIRST
MIDDLE; "John A Smith" is First Middle Last; "Smith, John" has a comma), plus tenancy
boilerplate ("ETUX", "JT TEN", "H/W") and contacts ("C/O ..."). Resolution and outreach
need these facts apart. The raw string is always kept on the result.

Conventions followed (sources):
- Assessor rolls write individuals LAST FIRST MIDDLE in capitals without a comma and put
  co-owners after "&" with the shared surname omitted ("SMITH JOHN & MARY"); ETUX = "and
  wife", ETVIR = "and husband", ET AL = "and others", TR/TRS/TTEE = trustee(s), "C/O" =
  mail in care of a contact (e.g. the formats described in county CAMA export manuals and in
  the USPS Publication 28 guidance on "C/O" attention lines).
- Legal-form suffixes for organisations follow state business-entity naming statutes, which
  treat "LLC", "L.L.C." and "Limited Liability Company" as the same designator (e.g. Delaware
  6 Del. C. 18-102) and "Inc." / "Incorporated", "Corp." / "Corporation" likewise.

Kinds: ``person``; ``organisation`` (companies, banks, churches, associations);
``trust`` (trusts and decedents' estates, i.e. fiduciary holdings, with the person named in
them extracted when there is one); ``government``; ``unknown`` (blank or unreadable).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from reos.owners.nicknames import COMMON_SURNAMES, GIVEN_NAMES, canonical_given_name

PartyKind = Literal["person", "organisation", "trust", "government", "unknown"]
PartyRole = Literal["owner", "care_of"]

MAX_NAME_CHARS = 400
"""Longer owner strings are cut to this many characters before parsing (raw kept): no real
owner name is longer, and bounding the work keeps a pasted document from stalling a batch."""

_TRANSLIT = str.maketrans(
    {
        "ß": "SS",
        "Æ": "AE",
        "æ": "AE",
        "Ø": "O",
        "ø": "O",
        "Ł": "L",
        "ł": "L",
        "Đ": "D",
        "đ": "D",
        "Œ": "OE",
        "œ": "OE",
        "Þ": "TH",
        "þ": "TH",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
    }
)

_SUFFIXES = {"JR", "SR", "II", "III", "IV", "V", "2ND", "3RD", "JNR", "SNR"}
_SUFFIX_CANON = {"JNR": "JR", "SNR": "SR", "2ND": "II", "3RD": "III"}
_TITLES = {"MR", "MRS", "MS", "MISS", "DR", "REV", "HON", "PROF", "SGT", "CAPT", "COL", "ATTY"}
# Tenancy and status boilerplate that names no one.
_NOISE = {
    "H/W",
    "HW",
    "H&W",
    "W/H",
    "JT",
    "JTWROS",
    "JTRS",
    "JTS",
    "TEN",
    "TENS",
    "COM",
    "ENT",
    "TIC",
    "TC",
    "CP",
    "CPWROS",
    "LIFE",
    "ETAL",
    "DECD",
    "DEC'D",
    "DECEASED",
    "HUSBAND",
    "WIFE",
    "HUS",
    "WF",
    "SURV",
    "SURVIVOR",
    "RS",
    "ROS",
    "WROS",
    "UND",
    "INT",
    "UNDIV",
    "PCT",
    "%",
}
_PARTICLES = {
    "DE",
    "DEL",
    "DELA",
    "DELOS",
    "LA",
    "VAN",
    "VON",
    "DI",
    "DA",
    "DOS",
    "DAS",
    "DU",
    "ST",
    "MC",
    "MAC",
    "VANDER",
    "VANDE",
    "DER",
    "BIN",
    "AL",
    "EL",
    "O",
}

_ORG_WORDS = {
    "LLC",
    "LLLP",
    "INC",
    "INCORPORATED",
    "CORP",
    "CORPORATION",
    "CO",
    "COMPANY",
    "LP",
    "LLP",
    "LTD",
    "LIMITED",
    "PLLC",
    "PC",
    "BANK",
    "BANCORP",
    "CHURCH",
    "MINISTRIES",
    "MINISTRY",
    "ASSOCIATION",
    "ASSN",
    "ASSOC",
    "ASSOCIATES",
    "HOA",
    "POA",
    "PROPERTIES",
    "PROPERTY",
    "HOLDINGS",
    "HOLDING",
    "INVESTMENTS",
    "INVESTMENT",
    "INVESTORS",
    "REALTY",
    "PARTNERS",
    "PARTNERSHIP",
    "GROUP",
    "FUND",
    "CAPITAL",
    "VENTURES",
    "VENTURE",
    "ENTERPRISES",
    "ENTERPRISE",
    "DEVELOPMENT",
    "DEVELOPERS",
    "MANAGEMENT",
    "MGMT",
    "RENTALS",
    "RENTAL",
    "HOMES",
    "BUILDERS",
    "CONSTRUCTION",
    "FOUNDATION",
    "SOCIETY",
    "UNIVERSITY",
    "COLLEGE",
    "HOSPITAL",
    "SERVICES",
    "SOLUTIONS",
    "LENDING",
    "MORTGAGE",
    "FINANCIAL",
    "ACQUISITIONS",
    "ASSETS",
    "EQUITIES",
    "EQUITY",
    "REIT",
    "FSB",
    "CONDOMINIUM",
    "CONDOMINIUMS",
    "APARTMENTS",
    "FARMS",
    "RANCH",
    "INDUSTRIES",
    "INTERNATIONAL",
    "CORPORATE",
    "LLLC",
    "MOSQUE",
    "SYNAGOGUE",
    "CONGREGATION",
    "DIOCESE",
    "ARCHDIOCESE",
    "FELLOWSHIP",
    "CLUB",
    "COOPERATIVE",
    "COOP",
    "HOSPITALITY",
    "HOTEL",
    "MOTEL",
    "PLAZA",
    "CENTER",
    "CENTRE",
    "RESTAURANT",
    "RESIDENTIAL",
    "COMMERCIAL",
    "ESTATES",
    "TRUSTCO",
    "NA",
    "DBA",
    "SERIES",
}
_ORG_PHRASES = re.compile(
    r"\b(?:CREDIT UNION|REAL ESTATE|L L C|N A|HOME OWNERS|HOMEOWNERS|SAVINGS AND LOAN|"
    r"TRUST CO(?:MPANY)?|NATIONAL TRUST|TRUST BANK|LAND TRUST CO|TITLE CO|"
    r"LIMITED LIABILITY|LIMITED PARTNERSHIP)\b"
)
_GOV = re.compile(
    r"^(?:THE )?(?:CITY|COUNTY|STATE|TOWN|TOWNSHIP|VILLAGE|BOROUGH|COMMONWEALTH|PARISH|PEOPLE)"
    r" OF\b|\b(?:HOUSING AUTHORITY|UNITED STATES|USA|U S A|SCHOOL DISTRICT|SCHOOL DIST|"
    r"DEPARTMENT OF|DEPT OF|REDEVELOPMENT AGENCY|REDEVELOPMENT AUTHORITY|BOARD OF EDUCATION|"
    r"PUBLIC SCHOOLS|TRANSIT AUTHORITY|PORT AUTHORITY|WATER DISTRICT|SANITATION DISTRICT|"
    r"FIRE DISTRICT|IRRIGATION DISTRICT|SECRETARY OF HOUSING|HUD|LAND BANK|"
    r"GOVERNMENT|AUTHORITY|COUNTY)\b"
)
_TRUST_WORDS = {
    "TRUST",
    "TR",
    "TRS",
    "TRST",
    "TRUSTEE",
    "TRUSTEES",
    "TTEE",
    "TTEES",
    "TRSTE",
    "TRUSTS",
    "TRU",
    "TRT",
}
_TRUST_DESCRIPTORS = {
    "REVOCABLE",
    "REV",
    "IRREVOCABLE",
    "IRREV",
    "LIVING",
    "LIV",
    "FAMILY",
    "FAM",
    "DECLARATION",
    "AGREEMENT",
    "AGMT",
    "DTD",
    "DATED",
    "UA",
    "UAD",
    "UTA",
    "UTD",
    "U/A",
    "U/D",
    "U/T",
    "OF",
    "THE",
    "AND",
    "SURVIVORS",
    "SURVIVOR",
    "MARITAL",
    "BYPASS",
    "RESIDUARY",
    "CREDIT",
    "SHELTER",
    "GST",
    "SEPARATE",
    "PROPERTY",
    "JOINT",
    "INTERVIVOS",
    "TESTAMENTARY",
    "EXEMPT",
    "NON",
    "QUALIFIED",
    "PERSONAL",
    "RESIDENCE",
    "QPRT",
    "SPECIAL",
    "NEEDS",
    "CHILDRENS",
    "GRANTOR",
    "TRUSTOR",
    "SUCCESSOR",
    "CO",
    "ESTATE",
    "EST",
}
_ESTATE = re.compile(r"\b(?:ESTATE OF|EST OF)\b|\b(?:ESTATE|EST)$")
_DATE = re.compile(
    r"\b(?:DTD|DATED|U/?A|U/?D|U/?T|UAD|UTD|UTA)?\s*\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b|"
    r"\b(?:DTD|DATED)\s+\S+(?:\s+\d{1,2},?)?(?:\s+\d{2,4})?"
)
_CARE_OF = re.compile(r"(?:\bC/O\b|\bC / O\b|\bCARE OF\b|\bATTN:?|\bATTENTION:?|%)")
_ETAL = re.compile(r"\bET\s*AL\b\.?|\bETALS?\b|\bET\s*ALS\b|\bAND OTHERS\b")
_ETUX = re.compile(r"\bET\s*UX\b|\bETUX\b|\bET\s*VIR\b|\bETVIR\b|\bET\s*CON\b")
_AND = re.compile(r"\s*&\s*|\s+AND\s+|\s*\+\s*|(?<=[A-Z])\s*/\s*(?=[A-Z])")
_SHARES = re.compile(
    r"(?<![/\d])\b\d{1,3}\s*/\s*\d{1,3}\b(?!\s*/\s*\d)(?:\s*(?:INT|INTEREST|INTR)\b)?|\b\d+(?:\.\d+)?\s*(?:%|PCT\b)"
)
_SLASH_NOISE = re.compile(r"\b(?:H\s*/\s*W|W\s*/\s*H|H\s*&\s*W|J\s*/\s*T)\b")
_VIET_NAME = re.compile(r"^\w+ (?:THI|VAN) \w+(?: \w+)?$")
_ROMAN = re.compile(r"^(?:I{1,3}|IV|V|VI{1,3}|IX|X)$")

_ORG_SUFFIX_FORMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b(?:{pattern})\b"), repl)
    for pattern, repl in (
        (r"PROFESSIONAL LIMITED LIABILITY COMPANY|P L L C", "PLLC"),
        (r"LIMITED LIABILITY COMPANY|LIMITED LIABILITY CO|L L C|L C C", "LLC"),
        (r"LIMITED LIABILITY PARTNERSHIP|L L P", "LLP"),
        (r"LIMITED LIABILITY LIMITED PARTNERSHIP|L L L P", "LLLP"),
        (r"LIMITED PARTNERSHIP|L P", "LP"),
        (r"INCORPORATED|INCORP|INCO", "INC"),
        (r"CORPORATION|CORPORATE|CORPN", "CORP"),
        (r"COMPANY|CMPNY", "CO"),
        (r"LIMITED", "LTD"),
        (r"ASSOCIATION|ASSN|ASSOCIATN", "ASSN"),
        (r"ASSOCIATES|ASSOCS", "ASSOC"),
        (r"NATIONAL ASSOCIATION|N A", "NA"),
        (r"PROPERTIES|PROPS|PRPTYS|PROPERTYS", "PROPERTIES"),
        (r"HOLDINGS|HLDGS|HOLDNGS", "HOLDINGS"),
        (r"INVESTMENTS|INVTS|INVSTMTS|INVESTMNTS|INVEST", "INVESTMENTS"),
        (r"MANAGEMENT|MGMT|MGT|MNGMT", "MANAGEMENT"),
        (r"REALTY|RLTY", "REALTY"),
        (r"DEVELOPMENT|DEVEL|DEVELOPMNT", "DEVELOPMENT"),
        (r"ENTERPRISES|ENTERPRISE|ENTPRS|ENTRPRS", "ENTERPRISES"),
        (r"INTERNATIONAL|INTL", "INTERNATIONAL"),
        (r"NATIONAL|NATL", "NATIONAL"),
        (r"BROTHERS|BROS", "BROS"),
        (r"MOUNT|MNT", "MT"),
        (r"SAINT", "ST"),
        (r"CENTRE", "CENTER"),
        (r"APARTMENTS|APTS", "APARTMENTS"),
        (r"TRUSTEES|TRUSTEE|TTEES|TTEE|TRS|TRSTE", "TRUSTEE"),
        (r"TRUST|TRST|TR|TRU|TRT", "TRUST"),
        (r"REVOCABLE|REV|REVOC", "REVOCABLE"),
        (r"IRREVOCABLE|IRREV", "IRREVOCABLE"),
        (r"LIVING|LIV", "LIVING"),
        (r"FAMILY|FAM|FMLY", "FAMILY"),
        (r"ESTATE OF|EST OF", "ESTATE OF"),
        (r"EST", "ESTATE"),
    )
)
_LEGAL_FORMS = {
    "LLC",
    "INC",
    "CORP",
    "CO",
    "LTD",
    "LP",
    "LLP",
    "LLLP",
    "PLLC",
    "PC",
    "NA",
    "FSB",
    "DBA",
    "THE",
}
_TRUST_BOILERPLATE = {
    "TRUST",
    "TRUSTEE",
    "REVOCABLE",
    "IRREVOCABLE",
    "LIVING",
    "DTD",
    "DATED",
    "UA",
    "UAD",
    "UTD",
    "UTA",
    "AGREEMENT",
    "DECLARATION",
    "OF",
    "THE",
    "ESTATE",
}


@dataclass(frozen=True)
class PersonName:
    """One individual's name, upper case, transliterated to Latin where possible."""

    first: str | None
    middle: str | None
    last: str | None
    suffix: str | None = None
    title: str | None = None

    @property
    def first_canonical(self) -> str | None:
        """Given name with nicknames resolved ("BOB" -> "ROBERT") for matching."""
        return canonical_given_name(self.first)

    @property
    def middle_initial(self) -> str | None:
        return self.middle[0] if self.middle else None

    @property
    def last_std(self) -> str | None:
        """Surname with spaces, hyphens and apostrophes removed: "DE LA CRUZ" -> "DELACRUZ"."""
        if not self.last:
            return None
        std = re.sub(r"[^\w]", "", self.last)
        return std or None

    @property
    def display(self) -> str:
        parts = [p for p in (self.first, self.middle, self.last) if p]
        text = " ".join(_title_case(p) for p in parts)
        if self.suffix:
            text = f"{text} {self.suffix}" if text else self.suffix
        return text


@dataclass(frozen=True)
class Party:
    """One owner (or contact) named in an owner string.

    ``raw`` is the fragment of the cleaned owner string this party came from; ``org_name`` is
    the legal name as written (cleaned), ``org_std`` its standard form for matching and
    ``org_core`` the standard form without legal-form words. ``person`` is the individual for a
    person party, or the first person named in a trust/estate; ``named_persons`` lists all of
    them (for "SMITH JOHN & MARY TRS" both John and Mary).
    """

    raw: str
    kind: PartyKind
    role: PartyRole = "owner"
    person: PersonName | None = None
    org_name: str | None = None
    org_std: str | None = None
    org_core: str | None = None
    named_persons: tuple[PersonName, ...] = field(default_factory=tuple)

    @property
    def display_name(self) -> str:
        if self.kind == "person" and self.person is not None:
            return self.person.display or self.raw
        return self.org_name or self.raw


@dataclass(frozen=True)
class ParsedOwner:
    """An owner string split into parties. ``raw`` is exactly what the caller passed."""

    raw: str
    parties: tuple[Party, ...]
    warning: str | None = None

    @property
    def owners(self) -> tuple[Party, ...]:
        """The parties that hold title (care-of contacts excluded)."""
        return tuple(p for p in self.parties if p.role == "owner")

    @property
    def kind(self) -> PartyKind:
        """Kind of the first owner party; ``unknown`` when none could be read."""
        owners = self.owners
        return owners[0].kind if owners else "unknown"


def _title_case(text: str) -> str:
    return " ".join(
        w[:1] + w[1:].lower() if not w.startswith("MC") else "Mc" + w[2:3] + w[3:].lower()
        for w in text.split()
    )


def transliterate(text: str) -> str:
    """Latin letters with accents removed (NFKD), common ligatures spelled out.

    Scripts with no Latin decomposition (Chinese, Cyrillic, ...) are kept as written: the
    standard library cannot romanise them, and keeping them still lets identical spellings
    match.
    """
    text = text.translate(_TRANSLIT)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def clean_owner_text(text: str | None) -> str:
    """Upper case, transliterated, punctuation reduced to the separators the parser reads."""
    if not text:
        return ""
    text = transliterate(str(text)[: MAX_NAME_CHARS * 2])[:MAX_NAME_CHARS].upper()
    text = re.sub(r"[\"`]", "", text)
    text = text.replace("\t", " ")
    # keep & / ; , % ' - . as signals; everything else that is not a word char is a space
    text = re.sub(r"[^\w&/;,%'\-. +#]", " ", text)
    text = _OCR_DIGIT.sub(lambda m: _OCR_LETTER[m.group(0)], text)
    return re.sub(r"\s+", " ", text).strip(" ,;-")


_OCR_LETTER = {"0": "O", "1": "I", "5": "S", "6": "G", "8": "B"}
_OCR_DIGIT = re.compile(r"(?<=[A-Z])[01568](?=[A-Z])|(?<=[A-Z]{2})[015](?![A-Z0-9])")
"""A 0, 1, 5, 6 or 8 between two letters of one word is a scanned O, I, S, G or B
("PATR1CIA", "AN6ELA", "WE8ER"), and a 0, 1 or 5 ending a word of two letters or more a
scanned O, I or S ("JA5"): rolls keyed from scans carry these, and a digit would otherwise
make the name read as a company. Other digits at a word's edge ("K9", "A1", "B2B") or
between digits stay."""


def standardize_org_name(name: str | None) -> str | None:
    """Standard form of an organisation or trust name for matching.

    Punctuation removed, "&" -> "AND", a leading "THE" dropped, legal-form and common business
    words reduced to one spelling ("L.L.C." = "LLC" = "Limited Liability Company",
    "INC." = "INCORPORATED"), trust date clauses ("DTD 1/2/2005", "U/A") dropped.
    The legal name as written is kept separately by the caller.
    """
    if not name:
        return None
    text = transliterate(name).upper()
    text = _DATE.sub(" ", text)
    text = re.sub(r"\bU/[ADT]\b", " ", text)
    text = text.replace("&", " AND ")
    text = re.sub(r"(?<=\b[A-Z])\.(?=[A-Z]\b)", "", text)  # L.L.C. -> LLC
    text = re.sub(r"['.]", "", text)
    text = re.sub(r"[^\w]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    for pattern, repl in _ORG_SUFFIX_FORMS:
        text = pattern.sub(repl, text)
    tokens = text.split()
    while tokens and tokens[0] == "THE":
        tokens = tokens[1:]
    tokens = [t for t in tokens if t not in {"UA", "UAD", "UTD", "UTA", "DTD", "DATED"}]
    std = " ".join(tokens)
    return std or None


def org_core_name(org_std: str | None) -> str | None:
    """Standard name without legal-form and trust boilerplate words ("ACME HOLDINGS LLC" ->
    "ACME HOLDINGS"), used for fuzzy comparison so "ACME LLC" and "ACME L.L.C." meet."""
    if not org_std:
        return None
    tokens = [t for t in org_std.split() if t not in _LEGAL_FORMS and t not in _TRUST_BOILERPLATE]
    if tokens and tokens[-1] == "AND":
        tokens = tokens[:-1]
    core = " ".join(tokens)
    return core or org_std


def org_number_tokens(org_std: str | None) -> str:
    """Digits and roman numerals in a name ("ACME RENTALS 2 LLC" -> "2"): sibling LLCs of one
    landlord often differ only by these, so a difference there means a different company."""
    if not org_std:
        return ""
    nums = [t for t in org_std.split() if t.isdigit() or _ROMAN.match(t)]
    return " ".join(nums)


def _is_initial(token: str) -> bool:
    return len(token) == 1 and token.isalpha()


def _strip_tokens(text: str) -> tuple[list[str], str | None, str | None]:
    """Split a person fragment into name tokens, pulling out suffix and title."""
    suffix: str | None = None
    title: str | None = None
    tokens: list[str] = []
    for raw_token in text.replace(",", " , ").split():
        token = raw_token.strip(".'-") if raw_token not in {","} else raw_token
        token = token.replace(".", "")
        if not token:
            continue
        if token in _NOISE:
            continue
        if token in _TITLES and title is None and not tokens:
            title = token
            continue
        if token in _SUFFIXES and tokens:
            if token in {"V"} and len([t for t in tokens if t != ","]) < 2:
                tokens.append(token)
                continue
            suffix = _SUFFIX_CANON.get(token, token)
            continue
        tokens.append(token)
    return tokens, suffix, title


def _glue_particles(tokens: list[str]) -> list[str]:
    """Keep surname particles with the surname: ["DE", "LA", "CRUZ"] -> ["DE LA CRUZ"]."""
    out: list[str] = []
    buffer: list[str] = []
    for i, token in enumerate(tokens):
        if token in _PARTICLES and i < len(tokens) - 1 and len(token) > 1:
            buffer.append(token)
            continue
        if buffer:
            out.append(" ".join([*buffer, token]))
            buffer = []
        else:
            out.append(token)
    out.extend(buffer)
    return out


def _looks_first_last(tokens: list[str], mixed_case: bool) -> bool:
    """Decide First..Last (True) vs assessor LAST FIRST MIDDLE (False) for comma-free names."""
    if len(tokens) < 2:
        return False
    if _is_initial(tokens[0]):
        return True  # "J A SMITH"
    if _is_initial(tokens[-1]):
        return False  # "SMITH JOHN A"
    if mixed_case:
        return True
    if len(tokens) == 3 and _is_initial(tokens[1]):
        return True  # "JOHN A SMITH"
    first_given = tokens[0] in GIVEN_NAMES
    last_given = tokens[-1] in GIVEN_NAMES
    if first_given and not last_given:
        return True
    # both could be given names ("JOHN LEWIS", "JOHNNY KIM"): a frequent surname at the end
    # and not at the start tips it to First Last; otherwise the assessor order wins.
    return first_given and tokens[-1] in COMMON_SURNAMES and tokens[0] not in COMMON_SURNAMES


def parse_person(text: str, *, mixed_case: bool = False) -> PersonName | None:
    """Parse one individual's name; ``None`` when nothing name-like is left.

    A single token is read as a given name when it is a known given name ("MARY" in
    "SMITH JOHN & MARY"), otherwise as a surname.
    """
    tokens, suffix, title = _strip_tokens(text)
    if "," in tokens:
        idx = tokens.index(",")
        last_tokens = [t for t in tokens[:idx] if t != ","]
        rest = [t for t in tokens[idx + 1 :] if t != ","]
        if not last_tokens:
            tokens = rest
        else:
            last = " ".join(last_tokens)
            first = rest[0] if rest else None
            middle = " ".join(rest[1:]) or None
            return PersonName(first, middle, last, suffix, title)
    tokens = [t for t in tokens if t != ","]
    if not tokens:
        return None
    if len(tokens) == 1:
        token = tokens[0]
        if token in GIVEN_NAMES or _is_initial(token):
            return PersonName(token, None, None, suffix, title)
        return PersonName(None, None, token, suffix, title)
    if _looks_first_last(tokens, mixed_case):
        glued = _glue_particles(tokens)
        if len(glued) == 1:
            return PersonName(None, None, glued[0], suffix, title)
        return PersonName(glued[0], " ".join(glued[1:-1]) or None, glued[-1], suffix, title)
    # assessor order: LAST FIRST MIDDLE, with surname particles at the front
    i = 0
    last_parts: list[str] = []
    while i < len(tokens) - 1 and tokens[i] in _PARTICLES and len(tokens[i]) > 1:
        last_parts.append(tokens[i])
        i += 1
    last_parts.append(tokens[i])
    rest = tokens[i + 1 :]
    if len(rest) == 2 and rest[0] in {"THI", "VAN"}:
        rest = [rest[1], rest[0]]  # Vietnamese family + THI/VAN + given: "LE THI HOA"
    first = rest[0] if rest else None
    middle = " ".join(rest[1:]) or None
    return PersonName(first, middle, " ".join(last_parts), suffix, title)


#: Given names usual as a second given name ("MARY ANN", "BILLY JOE"), not as a surname.
SECOND_GIVEN = frozenset(
    {"ANN", "ANNE", "BETH", "JEAN", "JO", "JOE", "LEE", "LYNN", "LYNNE", "MAE", "MARIE", "RAE",
     "RAY", "SUE", "KAY", "ELIZABETH", "LOUISE", "GRACE", "JANE", "JUNE", "ROSE"}
)  # fmt: skip


def _is_bare_given(text: str) -> bool:
    """A co-owner written without surname: "MARY", "MARY B", "MARY ANN"."""
    tokens, _, _ = _strip_tokens(text)
    tokens = [t for t in tokens if t != ","]
    if not tokens or len(tokens) > 2 or tokens[0] not in GIVEN_NAMES:
        return False
    return len(tokens) == 1 or _is_initial(tokens[1]) or tokens[1] in GIVEN_NAMES


def classify(text: str) -> PartyKind:
    """Kind of a cleaned, upper-case owner fragment (no splitting)."""
    if not re.search(r"\w", text):
        return "unknown"
    spaced = re.sub(r"[.,]", "", text)
    spaced = re.sub(r"\s+", " ", spaced)
    tokens = set(re.split(r"[\s/&]+", spaced))
    legal = {"LLC", "INC", "CORP", "LP", "LLP", "LTD", "PLLC", "LLLP", "INCORPORATED"}
    if _ORG_PHRASES.search(spaced) and re.search(r"TRUST CO|NATIONAL TRUST|TRUST BANK", spaced):
        return "organisation"
    if tokens & {"BANK", "NA", "FSB", "BANCORP", "BANCSHARES"} and len(tokens) > 1:
        return "organisation"  # a bank named as trustee is still the bank
    if _VIET_NAME.match(spaced):
        return "person"  # "LE THI HOA": THI/VAN mark a Vietnamese personal name
    if tokens & legal or re.search(r"\bL L C\b", spaced):
        return "organisation"
    if _GOV.search(spaced):
        return "government"
    if tokens & _TRUST_WORDS or _ESTATE.search(spaced) or re.search(r"\bU/?[AD]\b", spaced):
        return "trust"
    if tokens & _ORG_WORDS or _ORG_PHRASES.search(spaced):
        return "organisation"
    if re.search(r"\d", spaced) and not re.search(r"\b(?:2ND|3RD)\b", spaced):
        return "organisation"  # "1234 MAIN STREET LLC" minus the suffix, "ABC 123"
    return "person"


def _persons_in_trust(text: str, mixed_case: bool) -> tuple[PersonName, ...]:
    """People named in a trust or estate: "SMITH JOHN A & MARY B TRS" -> John, Mary Smith."""
    text = _DATE.sub(" ", text)
    text = re.sub(r"\bU/[ADT]\b", " ", text)
    text = re.sub(r"\b(?:ESTATE|EST) OF\b", " ", text)
    tokens = [t for t in re.split(r"\s+", text) if t]
    kept = [t for t in tokens if t.strip(".,") not in _TRUST_WORDS | _TRUST_DESCRIPTORS - {"AND"}]
    remainder = " ".join(kept).strip(" ,&")
    if not remainder or re.search(r"\d", remainder):
        return ()
    return _split_persons(remainder, mixed_case)


def _split_persons(text: str, mixed_case: bool) -> tuple[PersonName, ...]:
    parts = [p.strip(" ,") for p in _AND.split(text) if p and p.strip(" ,")]
    if not parts:
        return ()
    parsed: list[PersonName | None] = []
    bare: list[bool] = []
    for part in parts:
        is_bare = _is_bare_given(part) and len(parts) > 1
        bare.append(is_bare)
        if is_bare:
            tokens, suffix, title = _strip_tokens(part)
            tokens = [t for t in tokens if t != ","]
            parsed.append(PersonName(tokens[0], " ".join(tokens[1:]) or None, None, suffix, title))
        else:
            parsed.append(parse_person(part, mixed_case=mixed_case))
    if len(parts) > 1 and all(bare):
        # "RONALD & PATRICIA KIM": every part reads as given names because KIM is one too;
        # written forward, the last part's second word is the couple's surname (not when it
        # is a usual second given name: "JOHN & MARY ANN")
        tokens, suffix, title = _strip_tokens(parts[-1])
        tokens = [t for t in tokens if t != ","]
        if len(tokens) == 2 and not _is_initial(tokens[1]) and tokens[1] not in SECOND_GIVEN:
            parsed[-1] = PersonName(tokens[0], None, tokens[1], suffix, title)
            bare[-1] = False
        elif not mixed_case:
            # "KIM RONALD & SUSAN", as an assessor writes it: surname first on the first part
            tokens, suffix, title = _strip_tokens(parts[0])
            tokens = [t for t in tokens if t != ","]
            if len(tokens) == 2 and not _is_initial(tokens[1]):
                parsed[0] = PersonName(tokens[1], None, tokens[0], suffix, title)
                bare[0] = False
    # shared surname: a bare given name takes the surname of the nearest full name, looking
    # back first (assessor "SMITH JOHN & MARY"), then forward ("JOHN & MARY SMITH").
    result: list[PersonName] = []
    for i, person in enumerate(parsed):
        if person is None:
            continue
        if bare[i] or person.last is None:
            donor = next(
                (
                    pj
                    for j in range(i - 1, -1, -1)
                    if (pj := parsed[j]) is not None and not bare[j] and pj.last
                ),
                None,
            )
            if donor is None:
                donor = next(
                    (
                        pj
                        for j in range(i + 1, len(parsed))
                        if (pj := parsed[j]) is not None and not bare[j] and pj.last
                    ),
                    None,
                )
            if donor is not None and donor.last:
                person = PersonName(
                    person.first, person.middle, donor.last, person.suffix, person.title
                )
        result.append(person)
    return tuple(result)


def _org_party(fragment: str, kind: PartyKind, role: PartyRole, mixed_case: bool) -> Party:
    legal = re.sub(r"\s+", " ", fragment).strip(" ,;")
    std = standardize_org_name(legal)
    named: tuple[PersonName, ...] = ()
    if kind == "trust":
        named = _persons_in_trust(legal, mixed_case)
    return Party(
        raw=fragment,
        kind=kind,
        role=role,
        person=named[0] if named else None,
        org_name=legal,
        org_std=std,
        org_core=org_core_name(std),
        named_persons=named,
    )


def _parse_segment(segment: str, role: PartyRole, mixed_case: bool) -> list[Party]:
    kind = classify(segment)
    if kind == "unknown":
        return []
    if kind != "person":
        return [_org_party(segment, kind, role, mixed_case)]
    parties: list[Party] = []
    persons = _split_persons(segment, mixed_case)
    parts = [p for p in _AND.split(segment) if p and p.strip(" ,")]
    for i, person in enumerate(persons):
        raw = parts[i].strip() if i < len(parts) and len(parts) == len(persons) else segment
        parties.append(
            Party(raw=raw, kind="person", role=role, person=person, named_persons=(person,))
        )
    return parties


@lru_cache(maxsize=200_000)
def _parse_cached(text: str, mixed_case: bool) -> tuple[tuple[Party, ...], str | None]:
    warning: str | None = None
    text = _SHARES.sub(" ", text)
    text = _SLASH_NOISE.sub(" ", text)
    care_parts = _CARE_OF.split(text, maxsplit=1)
    owner_text = care_parts[0]
    care_text = care_parts[1] if len(care_parts) > 1 else ""
    parties: list[Party] = []
    for role, chunk in (("owner", owner_text), ("care_of", care_text)):
        if not chunk.strip():
            continue
        chunk = _ETAL.sub(" ; ", chunk)
        chunk = _ETUX.sub(" & ", chunk)
        for segment in chunk.split(";"):
            segment = segment.strip(" ,&-")
            if not re.search(r"\w", segment):
                continue
            parties.extend(_parse_segment(segment, role, mixed_case))  # type: ignore[arg-type]
    if not any(p.role == "owner" for p in parties):
        warning = "no owner name could be read" if text else "owner name is blank"
    return tuple(parties), warning


def _join_name_lines(name: str, name_2: str | None) -> str:
    """Owner 1 + owner 2 columns as one string; a bare given name in column 2 ("MARY")
    or a dangling "&" means the two lines are one couple."""
    if not name_2 or not name_2.strip():
        return name
    n1 = name.rstrip()
    n2 = name_2.strip()
    if not n1:
        return n2
    if re.search(r"(?:&|\bAND)$", n1.upper()) or re.match(r"^(?:&|AND\b)", n2.upper()):
        return f"{n1} {n2}" if n1.endswith("&") or n2.startswith("&") else f"{n1} & {n2}"
    if _CARE_OF.match(n2.upper()):
        return f"{n1} {n2}"
    cleaned = clean_owner_text(n2)
    if _is_bare_given(cleaned) and classify(clean_owner_text(n1)) == "person":
        return f"{n1} & {n2}"
    return f"{n1} ; {n2}"


def parse_owner_name(owner_name: str | None, owner_name_2: str | None = None) -> ParsedOwner:
    """Split an owner string (and an optional second owner line) into classified parties.

    Never raises on odd input: blank, punctuation-only or unreadable strings give no parties
    and a warning; very long strings are cut to ``MAX_NAME_CHARS`` with a warning.
    """
    raw1 = "" if owner_name is None else str(owner_name)
    raw2 = None if owner_name_2 is None else str(owner_name_2)
    raw = raw1 if raw2 is None else f"{raw1}\n{raw2}"
    joined = _join_name_lines(raw1, raw2)
    mixed_case = bool(re.search(r"[a-z]", joined)) and bool(re.search(r"[A-Z]", joined))
    text = clean_owner_text(joined)
    parties, warning = _parse_cached(text, mixed_case)
    if len(raw1) + len(raw2 or "") > MAX_NAME_CHARS:
        warning = f"owner name longer than {MAX_NAME_CHARS} characters; only the start was read"
    return ParsedOwner(raw=raw, parties=parties, warning=warning)


def soundex(name: str | None) -> str | None:
    """American Soundex code (as defined by the US National Archives for census indexing):
    first letter + three digits; used only as a blocking key for surnames."""
    if not name:
        return None
    letters = [c for c in name.upper() if "A" <= c <= "Z"]
    if not letters:
        return name[:4] if name else None
    codes = {
        **dict.fromkeys("BFPV", "1"),
        **dict.fromkeys("CGJKQSXZ", "2"),
        **dict.fromkeys("DT", "3"),
        "L": "4",
        **dict.fromkeys("MN", "5"),
        "R": "6",
    }
    first = letters[0]
    out = [first]
    prev = codes.get(first, "")
    for c in letters[1:]:
        code = codes.get(c, "")
        if code and code != prev:
            out.append(code)
        if c not in "HW":
            prev = code
        if len(out) == 4:
            break
    return "".join(out).ljust(4, "0")
