"""Owner entity resolution: owner records -> owner entities, pure computation.

Definition (the benchmark generator's truth follows it exactly):
    An owner entity is a set of owner records connected through matching parties.
    Two records are connected when one owning party on each is the same real-world party:
    the same person, the same organisation (same legal entity), or the same trust/estate.
So the couple record "SMITH JOHN & MARY", a record "MARY SMITH" and a record "JOHN SMITH"
form one entity (the household), transitively. What does *not* connect records:
- a shared mailing address alone: one landlord's LLCs at one office ("MAPLE HOLDINGS LLC",
  "OAK RENTALS LLC") stay separate entities, because each is a separate legal owner that
  signs its own deed; ``reos.owners.graph`` reports them as *related entities*;
- a person named in a trust or estate, or a care-of contact: "JOHN SMITH REVOCABLE TRUST"
  is its own (trust) entity, related to John Smith in the graph, not merged with him.

Pipeline: parse names into parties (``owners.parties``), score candidate party pairs with a
Splink model trained by EM on the org's own records (``owners.matching``), keep pairs at or
above ``threshold``, and cluster records with a union-find that applies human overrides as
constraints (merges first, then machine links strongest first, never joining two records a
person split). Small or degenerate inputs (fewer than ``min_parties_for_model`` parties,
all records identical, EM failure) fall back to deterministic rules, said in the report.

Entity ids are the smallest member ``record_id`` (``entity_id`` = "own:" + it), so a re-run
gives the same id to every entity whose smallest member is unchanged.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd
from rapidfuzz.distance import DamerauLevenshtein

from reos.owners.matching import new_linker, scored_pairs, train
from reos.owners.names import PartyKind
from reos.owners.parties import build_party_frame, parsed_owner_of, prepare_records

EntityKind = PartyKind
ENTITY_PREFIX = "own:"


@dataclass(frozen=True)
class Override:
    """A person's decision: ``merge`` = same owner (must-link), ``split`` = not the same
    owner (cannot-link). Record ids, so they survive re-runs that renumber entities."""

    kind: Literal["merge", "split"]
    record_a: str
    record_b: str


def must_link(record_a: str, record_b: str) -> Override:
    return Override("merge", str(record_a), str(record_b))


def cannot_link(record_a: str, record_b: str) -> Override:
    return Override("split", str(record_a), str(record_b))


def split_from_entity(entity: ResolvedOwner, record_id: str) -> list[Override]:
    """ "Split ENTITY RECORD": the record is not this owner; cannot-link it to every other
    member so no later run puts it back."""
    return [cannot_link(record_id, m.record_id) for m in entity.members if m.record_id != record_id]


@dataclass(frozen=True)
class EntityMember:
    record_id: str
    match_probability: float | None
    """Highest probability of an accepted link from this record into its entity; 1.0 for a
    human merge; None for a record alone in its entity."""


@dataclass(frozen=True)
class ResolvedOwner:
    """One owner as the pure resolver sees it: the records it groups and what kind it is.

    The stored counterpart is the ORM row :class:`reos.models.OwnerEntity`, which the owners
    service writes from these."""

    entity_id: str
    display_name: str
    kind: EntityKind
    members: tuple[EntityMember, ...]

    @property
    def record_ids(self) -> tuple[str, ...]:
        return tuple(m.record_id for m in self.members)


@dataclass
class ResolutionConfig:
    threshold: float = 0.95
    """Match probability at or above which two parties are the same. 0.95 favours precision:
    a wrong merge sends an offer to the wrong owner, a missed one only duplicates a lead."""
    seed: int = 42
    u_max_pairs: float = 2e6
    max_block_size: int = 400
    min_parties_for_model: int = 30


@dataclass
class ResolutionReport:
    records: int
    parties: int
    entities: int
    merges: int
    """records - entities: how many records were folded into another record's entity."""
    pairs_scored: int
    links_accepted: int
    overrides_applied: int
    overrides_rejected: list[str]
    probability_histogram: dict[str, int]
    seconds: float
    method: Literal["splink", "deterministic", "none"]
    threshold: float
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ResolutionResult:
    entities: list[ResolvedOwner]
    assignments: dict[str, str]
    """record_id -> entity_id."""
    report: ResolutionReport
    model: dict[str, Any] | None = None
    """Trained Splink settings (JSON-serialisable); pass to :func:`link_new` or save."""
    parties: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def entity(self, entity_id: str) -> ResolvedOwner:
        for e in self.entities:
            if e.entity_id == entity_id:
                return e
        raise KeyError(entity_id)

    def to_frame(self) -> pd.DataFrame:
        """record_id, entity_id, match_probability: one row per record."""
        rows = [
            {
                "record_id": m.record_id,
                "entity_id": e.entity_id,
                "match_probability": m.match_probability,
            }
            for e in self.entities
            for m in e.members
        ]
        return pd.DataFrame(rows, columns=["record_id", "entity_id", "match_probability"])

    def model_json(self) -> str | None:
        return None if self.model is None else json.dumps(self.model)


class _UnionFind:
    """Union-find over record ids with cannot-link constraints checked on every union."""

    def __init__(self, ids: Iterable[str], cannot: Iterable[tuple[str, str]]) -> None:
        self.parent: dict[str, str] = {i: i for i in ids}
        self.members: dict[str, set[str]] = {i: {i} for i in self.parent}
        self.forbidden: dict[str, set[str]] = {i: set() for i in self.parent}
        for a, b in cannot:
            if a in self.parent and b in self.parent:
                self.forbidden[a].add(b)
                self.forbidden[b].add(a)

    def find(self, x: str) -> str:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> bool:
        """Join the groups of a and b unless a cannot-link spans them; True if joined
        (or already together)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if len(self.forbidden[ra]) > len(self.forbidden[rb]):
            ra, rb = rb, ra
        if any(self.find(x) == rb for x in self.forbidden[ra]):
            return False
        if len(self.members[ra]) > len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[ra] = rb
        self.members[rb] |= self.members.pop(ra)
        self.forbidden[rb] |= self.forbidden.pop(ra)
        return True


def _deterministic_edges(parties: pd.DataFrame) -> pd.DataFrame:
    """Rules that admit almost no false matches, for inputs too small or too uniform to
    train on: same person name at the same mailing address (or with the same middle initial
    in the same ZIP), a surname-only name at the same address; same organisation standard name; same trust name at the same address
    or naming the same surname."""
    rules = [
        ("P", ["first_name", "last_name", "addr_key"]),
        ("P", ["first_name", "last_name", "middle_initial", "zip5"]),
        ("P-", ["last_name", "addr_key"]),
        ("O", ["org_std"]),
        ("T", ["org_std", "addr_key"]),
        ("T", ["org_std", "last_name"]),
    ]
    pairs: list[pd.DataFrame] = []
    for group, columns in rules:
        sub = parties[parties["kind_group"] == group[0]].dropna(subset=columns)
        if group == "P":
            sub = sub[sub["suffix"].isna()]
        if group == "P-":  # a name with no given name ("李小龙", a lone surname)
            sub = sub[sub["first_name"].isna()]
        if sub.empty:
            continue
        # each party to its group's first and to its predecessor (a star alone would leave
        # the rest unconnected once a person splits the first one off)
        sub = sub.sort_values("unique_id", kind="stable")
        grouped = sub.groupby(columns, sort=False)["unique_id"]
        for anchor in (grouped.transform("min"), grouped.shift(1)):
            edge = pd.DataFrame({"unique_id_l": anchor.to_numpy(), "unique_id_r": sub["unique_id"]})
            edge = edge.dropna().astype("int64")
            pairs.append(edge[edge["unique_id_l"] != edge["unique_id_r"]])
    pairs.append(trustee_edges(parties)[["unique_id_l", "unique_id_r"]])
    edges = pd.concat(pairs, ignore_index=True).drop_duplicates()
    edges["match_probability"] = 1.0
    return edges


TRUSTS_AT_ONE_ADDRESS = 50
"""Above this many trust parties at one mailing address (a trust company's or a law
office's), the address is no evidence that two trusts share a settlor: the trustee rule
skips it and leaves those pairs to the model."""


def _same_name_part(a: str, b: str) -> bool:
    """One name part as written twice: equal, or one edit apart when both have 4+ letters
    ("JMES" / "JAMES", "ROEBRT" / "ROBERT")."""
    if a == b:
        return True
    return min(len(a), len(b)) >= 4 and DamerauLevenshtein.distance(a, b) <= 1


def trustee_edges(parties: pd.DataFrame) -> pd.DataFrame:
    """A trust and its trustee at one mailing address: sure links beside the model.

    "JONES MARILYN A TRUSTEE" and "MARILYN JONES REV LIV TRUST" at 2753 HILL ST are one owner
    holding title two ways; rolls write the trustee surname first and the trust forward, so
    the standard names differ and the organisation-name comparison scores them apart. The
    rule: trust-group parties at the same mailing address (street line, unit and ZIP) naming
    the same person - given name (nickname-canonical) and surname, in either order, each
    part equal or one typo apart - with middle initials and generational suffixes that do
    not disagree. Only named-person trusts take part (a family trust names no given name).
    Why a rule and not a comparison level: a Fellegi-Sunter level for "same words in
    another order" learns nothing of how common the name is, and at 100,000 generated
    records it linked different households' "JAMES SMITH LIVING TRUST"s (precision 0.985 ->
    0.975); bound to one address the evidence is the address and the person together.
    """
    columns = ["unique_id", "addr_key", "first_name", "last_name", "middle_initial", "suffix"]
    trusts = parties.loc[parties["kind_group"] == "T", columns].dropna(
        subset=["addr_key", "first_name", "last_name"]
    )
    sizes = trusts.groupby("addr_key")["unique_id"].transform("size")
    trusts = trusts[(sizes >= 2) & (sizes <= TRUSTS_AT_ONE_ADDRESS)]
    pairs = trusts.merge(trusts, on="addr_key", suffixes=("_l", "_r"))
    pairs = pairs[pairs["unique_id_l"] < pairs["unique_id_r"]]
    kept: list[tuple[int, int]] = []
    for row in pairs.itertuples(index=False):
        if not all(
            pd.isna(x) or pd.isna(y) or x == y
            for x, y in ((row.middle_initial_l, row.middle_initial_r), (row.suffix_l, row.suffix_r))
        ):
            continue
        fl, ll, fr, lr = row.first_name_l, row.last_name_l, row.first_name_r, row.last_name_r
        if (_same_name_part(fl, fr) and _same_name_part(ll, lr)) or (
            _same_name_part(fl, lr) and _same_name_part(ll, fr)
        ):
            kept.append((int(row.unique_id_l), int(row.unique_id_r)))
    edges = pd.DataFrame(kept, columns=["unique_id_l", "unique_id_r"], dtype="int64")
    edges["match_probability"] = 1.0
    return edges


def _score(
    parties: pd.DataFrame, config: ResolutionConfig, model: dict[str, Any] | None
) -> tuple[pd.DataFrame, dict[str, int], int, str, str | None, dict[str, Any] | None]:
    """Scored party pairs, one Splink model per kind group (people, organisations, trusts);
    a group too small or too uniform to train falls back to deterministic rules."""
    frames: list[pd.DataFrame] = []
    histogram: Counter[str] = Counter()
    total = 0
    notes: list[str] = []
    trained: dict[str, Any] = {}
    methods: set[str] = set()
    for group, label in (("P", "people"), ("O", "organisations"), ("T", "trusts")):
        sub = parties[parties["kind_group"] == group].reset_index(drop=True)
        if len(sub) < 2:
            continue
        group_model = (model or {}).get(group)
        if len(sub) < config.min_parties_for_model and group_model is None:
            edges = _deterministic_edges(sub)
            notes.append(
                f"{label}: only {len(sub)} parties, too few to train a match model; "
                "deterministic rules used"
            )
            methods.add("deterministic")
        else:
            try:
                linker, db_api = new_linker(sub, group, group_model)
                if group_model is None:
                    train(linker, group, seed=config.seed, u_max_pairs=config.u_max_pairs)
                edges, hist, n, prior = scored_pairs(
                    linker, db_api, config.threshold, len(sub), refit=group == "P"
                )
                if group == "T":
                    edges = pd.concat([edges, trustee_edges(sub)], ignore_index=True)
                histogram.update(hist)
                total += n
                trained[group] = linker.misc.save_model_to_json()
                trained[group]["probability_two_random_records_match"] = prior
                methods.add("splink")
            except Exception as exc:  # noqa: BLE001 - Splink raises many types on degenerate data
                edges = _deterministic_edges(sub)
                first_line = (str(exc).splitlines() or [""])[0][:160]
                notes.append(
                    f"{label}: match model could not be trained "
                    f"({type(exc).__name__}: {first_line}); deterministic rules used"
                )
                methods.add("deterministic")
        frames.append(edges)
    if not frames:
        empty = pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_probability"])
        return empty, {}, 0, "none", "fewer than two parties to compare", None
    method = (
        "splink"
        if methods == {"splink"}
        else ("deterministic" if methods == {"deterministic"} else "splink")
    )
    edges_all = pd.concat(frames, ignore_index=True)
    if "deterministic" in methods:
        total += (
            int((edges_all["match_probability"] == 1.0).sum()) if "splink" not in methods else 0
        )
    return (
        edges_all,
        dict(sorted(histogram.items())),
        total,
        method,
        "; ".join(notes) or None,
        trained or None,
    )


def record_displays(records: pd.DataFrame) -> tuple[dict[str, str], dict[str, EntityKind]]:
    display: dict[str, str] = {}
    kinds: dict[str, EntityKind] = {}
    for row in records.to_dict("records"):
        parsed = parsed_owner_of(row)
        owners = parsed.owners
        rid = str(row["record_id"])
        kinds[rid] = owners[0].kind if owners else "unknown"
        if owners:
            display[rid] = " & ".join(p.display_name for p in owners[:3])
        else:
            display[rid] = (parsed.raw.strip() or "(no owner name)")[:200]
    return display, kinds


def entity_from(
    members: Sequence[str],
    probability: dict[str, float],
    display: dict[str, str],
    kinds: dict[str, EntityKind],
) -> ResolvedOwner:
    ordered = sorted(members)
    kind_counts = Counter(kinds[r] for r in ordered)
    known = [(c, k) for k, c in kind_counts.items() if k != "unknown"]
    kind: EntityKind = max(known)[1] if known else "unknown"
    names = Counter(display[r] for r in ordered if kinds[r] == kind or kind == "unknown")
    best = max(names.items(), key=lambda kv: (kv[1], len(kv[0]), kv[0]))[0] if names else ""
    single = len(ordered) == 1
    return ResolvedOwner(
        entity_id=ENTITY_PREFIX + ordered[0],
        display_name=best,
        kind=kind,
        members=tuple(EntityMember(r, None if single else probability.get(r)) for r in ordered),
    )


def _cluster(
    record_ids: Sequence[str],
    record_edges: pd.DataFrame,
    overrides: Sequence[Override],
) -> tuple[list[list[str]], dict[str, float], int, list[str], int]:
    merges = [(o.record_a, o.record_b) for o in overrides if o.kind == "merge"]
    splits = [(o.record_a, o.record_b) for o in overrides if o.kind == "split"]
    known = set(record_ids)
    uf = _UnionFind(record_ids, splits)
    probability: dict[str, float] = {}
    rejected: list[str] = []
    applied = sum(1 for a, b in splits if a in known and b in known)
    for a, b in merges:
        if a not in known or b not in known:
            continue
        if uf.union(a, b):
            applied += 1
            probability[a] = probability[b] = 1.0
        else:
            rejected.append(f"merge {a} {b} conflicts with a split")
    accepted = 0
    if len(record_edges):
        ordered = record_edges.sort_values("match_probability", ascending=False, kind="stable")
        for a, b, p in ordered[["record_l", "record_r", "match_probability"]].itertuples(
            index=False, name=None
        ):
            if a == b:
                continue
            if uf.union(a, b):
                accepted += 1
                p = float(p)
                if p > probability.get(a, -1.0):
                    probability[a] = p
                if p > probability.get(b, -1.0):
                    probability[b] = p
    groups = [sorted(m) for m in uf.members.values()]
    return groups, probability, applied, rejected, accepted


def resolve_owners(
    records: pd.DataFrame,
    *,
    overrides: Sequence[Override] = (),
    config: ResolutionConfig | None = None,
    model: dict[str, Any] | None = None,
) -> ResolutionResult:
    """Resolve an organisation's owner records into owner entities.

    ``records``: one row per owner record (columns in ``reos.owners.parties``). ``overrides``:
    every merge/split a person has made, applied as constraints. ``model``: a trained model
    from an earlier run to reuse instead of training (faster, and stable scores).
    """
    started = time.perf_counter()
    config = config or ResolutionConfig()
    frame = prepare_records(records)
    record_ids = frame["record_id"].tolist()
    parties = build_party_frame(frame, max_block_size=config.max_block_size)
    edges, histogram, total, method, note, trained = _score(parties, config, model)
    uid_to_record = dict(zip(parties["unique_id"], parties["record_id"], strict=True))
    kept = edges[edges["match_probability"] >= config.threshold]
    record_edges = pd.DataFrame(
        {
            "record_l": kept["unique_id_l"].map(uid_to_record),
            "record_r": kept["unique_id_r"].map(uid_to_record),
            "match_probability": kept["match_probability"].astype(float),
        }
    )
    groups, probability, applied, rejected, accepted = _cluster(record_ids, record_edges, overrides)
    display, kinds = record_displays(frame)
    entities = sorted(
        (entity_from(g, probability, display, kinds) for g in groups), key=lambda e: e.entity_id
    )
    assignments = {m.record_id: e.entity_id for e in entities for m in e.members}
    if not record_ids:
        note = "no owner records"
    report = ResolutionReport(
        records=len(record_ids),
        parties=len(parties),
        entities=len(entities),
        merges=len(record_ids) - len(entities),
        pairs_scored=total,
        links_accepted=accepted,
        overrides_applied=applied,
        overrides_rejected=rejected,
        probability_histogram=histogram,
        seconds=round(time.perf_counter() - started, 3),
        method=method,  # type: ignore[arg-type]
        threshold=config.threshold,
        note=note,
    )
    return ResolutionResult(entities, assignments, report, trained, parties)


@dataclass
class LinkNewResult:
    assignments: dict[str, str]
    """new record_id -> entity_id (an existing entity, or a new one named after the record)."""
    match_probability: dict[str, float | None]
    new_entities: list[ResolvedOwner]
    bridges: dict[str, list[str]]
    """New records that matched more than one existing entity: candidates for a human merge
    (existing entities are never merged automatically by an incremental link)."""
    method: str
    note: str | None = None


def link_new(
    existing: ResolutionResult,
    existing_records: pd.DataFrame,
    new_records: pd.DataFrame,
    *,
    overrides: Sequence[Override] = (),
    config: ResolutionConfig | None = None,
) -> LinkNewResult:
    """Attach new owner records to existing entities without re-clustering the old ones.

    New parties are scored against existing parties (Splink ``predict_between`` with the
    trained model and term frequencies from the existing records) and against each other
    (``predict_within``). Each new record joins the existing entity of its best match at
    or above the threshold unless a split forbids it; new records matching only each other
    form new entities. Without a trained model (small first run) deterministic rules apply.
    """
    config = config or ResolutionConfig()
    old = prepare_records(existing_records)
    new = prepare_records(new_records)
    clash = set(old["record_id"]) & set(new["record_id"])
    if clash:
        from reos.errors import ValidationFailed

        raise ValidationFailed(
            f"new records reuse existing record_id values: {sorted(clash)[:5]}",
            field="record_id",
        )
    both = pd.concat([old, new], ignore_index=True)
    parties = build_party_frame(both, max_block_size=config.max_block_size)
    is_new = parties["record_id"].isin(set(new["record_id"]))
    method = "deterministic"
    note: str | None = None
    edges: pd.DataFrame
    if existing.model is not None and is_new.any() and (~is_new).any():
        try:
            edges = _incremental_edges(parties, is_new, existing.model, config)
            method = "splink"
        except Exception as exc:  # noqa: BLE001
            note = f"model scoring failed ({type(exc).__name__}); deterministic rules used"
            edges = _deterministic_edges(parties)
    else:
        edges = _deterministic_edges(parties)
    uid_to_record = dict(zip(parties["unique_id"], parties["record_id"], strict=True))
    new_ids = set(new["record_id"])
    kept = edges[edges["match_probability"] >= config.threshold]
    rec_l = kept["unique_id_l"].map(uid_to_record)
    rec_r = kept["unique_id_r"].map(uid_to_record)
    probs = kept["match_probability"].astype(float)
    forbidden: dict[str, set[str]] = defaultdict(set)
    for o in overrides:
        if o.kind == "split":
            forbidden[o.record_a].add(o.record_b)
            forbidden[o.record_b].add(o.record_a)
    forced = {(o.record_a, o.record_b) for o in overrides if o.kind == "merge"}
    entity_members: dict[str, set[str]] = {
        e.entity_id: set(e.record_ids) for e in existing.entities
    }
    best: dict[str, tuple[float, str]] = {}
    candidates: dict[str, set[str]] = defaultdict(set)
    within: list[tuple[str, str, float]] = []
    pairs = list(zip(rec_l, rec_r, probs, strict=True))
    pairs += [(a, b, 1.0) for a, b in forced]
    for a, b, p in pairs:
        a_new, b_new = a in new_ids, b in new_ids
        if a_new and b_new:
            within.append((a, b, p))
            continue
        if not (a_new or b_new):
            continue
        rec, other = (a, b) if a_new else (b, a)
        entity_id = existing.assignments.get(other)
        if entity_id is None:
            continue
        if forbidden[rec] & entity_members.get(entity_id, set()):
            continue
        candidates[rec].add(entity_id)
        if p > best.get(rec, (-1.0, ""))[0]:
            best[rec] = (p, entity_id)
    assignments: dict[str, str] = {r: eid for r, (_, eid) in best.items()}
    probability: dict[str, float | None] = {r: p for r, (p, _) in best.items()}
    # new records linked only to other new records: cluster them among themselves
    unassigned = sorted(new_ids - set(assignments))
    uf = _UnionFind(unassigned, [(a, b) for a in forbidden for b in forbidden[a]])
    for a, b, p in sorted(within, key=lambda t: -t[2]):
        if a in assignments and b not in assignments:
            if not (forbidden[b] & entity_members.get(assignments[a], set())):
                assignments[b] = assignments[a]
                probability[b] = p
        elif b in assignments and a not in assignments:
            if not (forbidden[a] & entity_members.get(assignments[b], set())):
                assignments[a] = assignments[b]
                probability[a] = p
        elif a not in assignments and b not in assignments and uf.union(a, b):
            probability[a] = max(probability.get(a) or 0.0, p)
            probability[b] = max(probability.get(b) or 0.0, p)
    display, kinds = record_displays(new)
    new_entities: list[ResolvedOwner] = []
    groups: dict[str, list[str]] = defaultdict(list)
    for r in unassigned:
        if r not in assignments:
            groups[uf.find(r)].append(r)
    for members in groups.values():
        probs_for = {r: p for r in members if (p := probability.get(r)) is not None}
        entity = entity_from(members, probs_for, display, kinds)
        new_entities.append(entity)
        for r in members:
            assignments[r] = entity.entity_id
            probability.setdefault(r, None)
    bridges = {r: sorted(c) for r, c in candidates.items() if len(c) > 1}
    return LinkNewResult(assignments, probability, new_entities, bridges, method, note)


def _incremental_edges(
    parties: pd.DataFrame, is_new: pd.Series, model: dict[str, Any], config: ResolutionConfig
) -> pd.DataFrame:
    """New-vs-existing and new-vs-new party pairs scored with the saved per-group models;
    groups without a saved model use the deterministic rules."""
    frames = []
    for group in ("P", "O", "T"):
        in_group = parties["kind_group"] == group
        old_parties = parties[in_group & ~is_new].reset_index(drop=True)
        new_parties = parties[in_group & is_new].reset_index(drop=True)
        if new_parties.empty:
            continue
        group_model = model.get(group)
        if group_model is None or old_parties.empty:
            frames.append(_deterministic_edges(parties[in_group].reset_index(drop=True)))
            continue
        if group == "T":
            frames.append(trustee_edges(parties[in_group]))
        linker, db_api = new_linker(old_parties, group, group_model)
        old_sdf = db_api.register(old_parties, table_name="owner_parties_existing")
        new_sdf = db_api.register(new_parties, table_name="owner_parties_new")
        for predictions in (
            linker.inference.predict_between(
                old_sdf, new_sdf, warning_mode="never", threshold_match_probability=config.threshold
            ),
            linker.inference.predict_within(
                new_sdf, warning_mode="never", threshold_match_probability=config.threshold
            ),
        ):
            frames.append(
                db_api.duckdb_con.execute(
                    f"SELECT unique_id_l, unique_id_r, match_probability "  # noqa: S608
                    f"FROM {predictions.physical_name}"
                ).df()
            )
    if not frames:
        return pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_probability"])
    return pd.concat(frames, ignore_index=True)


def save_model(result: ResolutionResult) -> str:
    """The trained model as JSON text (store it with the run; reload with ``load_model``)."""
    if result.model is None:
        raise ValueError("this run used deterministic rules; there is no trained model")
    return json.dumps(result.model)


def load_model(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text)
    return loaded
