"""The ownership graph: owner entities, properties and mailing addresses (networkx).

Why: investors want a landlord's whole portfolio and the companies behind one office
("group owners by mailing address"). Nodes: ``entity:<id>``, ``property:<id>``,
``address:<key>``, ``person:<first last>`` (people named in trusts and as care-of contacts).
Edges: entity-OWNS-property, entity-MAILS_TO-address, entity-NAMES-person.

Related entities: two entities are related when they share a mailing address, or when a
person named in one (a trust's trustee, a "C/O JOHN SMITH" contact) is the other entity
(a person entity with that name) or is named in the other. Related entities are reported,
never merged (see ``reos.owners.resolution`` for why).

Ranking: PageRank (Brin & Page 1998) over the undirected graph, so owners with many
properties and many shared addresses/people rank highest.

Where networkx stops being enough: it keeps Python objects per node and edge (roughly
1 KB per edge with attributes), so tens of millions of edges need tens of GB. Beyond a few
million nodes, keep the edges in SQL and walk them with recursive CTEs (portfolio and
related-entity queries are two or three hops), or use igraph / a compressed sparse graph
for PageRank.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx
import pandas as pd

from reos.owners.parties import clean_text, mailing_address_of, parsed_owner_of
from reos.owners.resolution import ResolutionResult


@dataclass(frozen=True)
class Portfolio:
    entity_id: str
    property_count: int
    total_estimated_value: float | None
    """Sum over properties with a value; None when no property has one."""
    cities: tuple[str, ...]
    states: tuple[str, ...]


@dataclass(frozen=True)
class RelatedEntity:
    entity_id: str
    related_entity_id: str
    reason: str  # "shared mailing address: <key>" | "shared person: <name>"


def build_owner_graph(
    records: pd.DataFrame, result: ResolutionResult, value_column: str = "estimated_value"
) -> nx.Graph:
    """Graph of entities, properties, addresses and named people for resolved records."""
    graph = nx.Graph()
    for entity in result.entities:
        graph.add_node(
            f"entity:{entity.entity_id}",
            kind="entity",
            owner_kind=entity.kind,
            name=entity.display_name,
        )
    for row in records.to_dict("records"):
        rid = str(row["record_id"])
        entity_id = result.assignments.get(rid)
        if entity_id is None:
            continue
        enode = f"entity:{entity_id}"
        prop_id = clean_text(row.get("property_id")) or f"record:{rid}"
        value = row.get(value_column)
        graph.add_node(
            f"property:{prop_id}",
            kind="property",
            city=clean_text(row.get("property_city")),
            state=clean_text(row.get("property_state")),
            value=None if value is None or pd.isna(value) else float(value),
        )
        graph.add_edge(enode, f"property:{prop_id}", rel="OWNS")
        address = mailing_address_of(row)
        if address.key:
            graph.add_node(f"address:{address.key}", kind="address")
            graph.add_edge(enode, f"address:{address.key}", rel="MAILS_TO")
        parsed = parsed_owner_of(row)
        for party in parsed.parties:
            named = party.named_persons if party.kind != "person" or party.role == "care_of" else ()
            for person in named:
                if person.first and person.last:
                    pnode = f"person:{person.first_canonical} {person.last_std}"
                    graph.add_node(pnode, kind="person")
                    graph.add_edge(enode, pnode, rel="NAMES")
    # a person entity is linked to the person node of its own name, so trusts naming it meet it
    # (names grouped by record once: filtering the party frame per entity is quadratic)
    names_of: dict[str, set[tuple[str, str]]] = defaultdict(set)
    if len(result.parties):
        for rid, first, last in result.parties[["record_id", "first_name", "last_name"]].itertuples(
            index=False, name=None
        ):
            if first and last:
                names_of[str(rid)].add((first, last))
    for entity in result.entities:
        if entity.kind != "person":
            continue
        names = set().union(*(names_of.get(r, set()) for r in entity.record_ids))
        for first, last in sorted(names):
            pnode = f"person:{first} {last}"
            if pnode in graph:
                graph.add_edge(f"entity:{entity.entity_id}", pnode, rel="IS")
    return graph


def portfolios(graph: nx.Graph) -> list[Portfolio]:
    """Portfolio per entity, largest first."""
    out: list[Portfolio] = []
    for node, data in graph.nodes(data=True):
        if data.get("kind") != "entity":
            continue
        props = [
            graph.nodes[n]
            for n in graph.neighbors(node)
            if graph.nodes[n].get("kind") == "property"
        ]
        values = [p["value"] for p in props if p.get("value") is not None]
        out.append(
            Portfolio(
                entity_id=node.removeprefix("entity:"),
                property_count=len(props),
                total_estimated_value=float(sum(values)) if values else None,
                cities=tuple(sorted({p["city"] for p in props if p.get("city")})),
                states=tuple(sorted({p["state"] for p in props if p.get("state")})),
            )
        )
    return sorted(out, key=lambda p: (-p.property_count, p.entity_id))


def related_entities(graph: nx.Graph, max_shared: int = 200) -> list[RelatedEntity]:
    """Pairs of entities sharing a mailing address or a named person. Addresses or people
    shared by more than ``max_shared`` entities (a registered-agent office) are skipped:
    they relate strangers."""
    pairs: dict[tuple[str, str], str] = {}
    for node, data in graph.nodes(data=True):
        if data.get("kind") not in {"address", "person"}:
            continue
        entities = sorted(
            n for n in graph.neighbors(node) if graph.nodes[n].get("kind") == "entity"
        )
        if len(entities) < 2 or len(entities) > max_shared:
            continue
        label = node.split(":", 1)[1]
        reason = (
            "shared mailing address: " if data["kind"] == "address" else "shared person: "
        ) + label
        for i, a in enumerate(entities):
            for b in entities[i + 1 :]:
                pairs.setdefault((a, b), reason)
    return [
        RelatedEntity(a.removeprefix("entity:"), b.removeprefix("entity:"), reason)
        for (a, b), reason in sorted(pairs.items())
    ]


def related_groups(graph: nx.Graph) -> list[list[str]]:
    """Connected groups of related entities (e.g. one landlord's LLCs), largest first."""
    adjacency: dict[str, set[str]] = defaultdict(set)
    for rel in related_entities(graph):
        adjacency[rel.entity_id].add(rel.related_entity_id)
        adjacency[rel.related_entity_id].add(rel.entity_id)
    seen: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(adjacency):
        if start in seen:
            continue
        stack, group = [start], []
        seen.add(start)
        while stack:
            node = stack.pop()
            group.append(node)
            for nxt in adjacency[node] - seen:
                seen.add(nxt)
                stack.append(nxt)
        groups.append(sorted(group))
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def most_connected_owners(graph: nx.Graph, top: int = 20) -> list[tuple[str, float]]:
    """Entities ranked by PageRank (damping 0.85)."""
    if graph.number_of_nodes() == 0:
        return []
    rank = nx.pagerank(graph, alpha=0.85)
    entities = [
        (n.removeprefix("entity:"), float(r))
        for n, r in rank.items()
        if graph.nodes[n].get("kind") == "entity"
    ]
    return sorted(entities, key=lambda t: (-t[1], t[0]))[:top]
