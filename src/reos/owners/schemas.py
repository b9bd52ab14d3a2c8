"""Owner bodies: requests for resolve/merge/split, and the owners, records, properties and
reports the API answers with. Owner ids are the stored entity UUIDs; record ids are the
source's own owner record ids (``owner_record_id``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from reos.kernel.schemas import InputModel

OwnerKind = Literal["person", "organisation", "trust", "government", "unknown"]
RecordId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=128,
        # published: some character that is neither white space (it is stripped; Python's
        # strip also takes \x1c-\x1f and \x85, which JSON Schema's \s does not) nor a
        # control character, and no NUL
        pattern=r"^[^\u0000]*[^\s\u0000-\u001f\u007f-\u009f\ufeff][^\u0000]*$",
    ),
]


class ResolveRequest(InputModel):
    threshold: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="match probability at or above which two names are one party "
        "(default: the last run's, else 0.95)",
    )
    full: bool = Field(False, description="re-resolve everything instead of linking new records")


class MergeRequest(InputModel):
    record_a: RecordId
    record_b: RecordId


class SplitRequest(InputModel):
    record_id: RecordId


class OwnerFlagsOut(BaseModel):
    """None means unknown (an address missing). An owner is absentee / out-of-state when any
    of its properties is held from elsewhere, owner-occupied when it lives in one of them."""

    owner_occupied: bool | None = None
    absentee: bool | None = None
    out_of_state: bool | None = None
    corporate: bool = False
    trust: bool = False
    government: bool = False
    foreign_mailing: bool = False
    po_box: bool = False
    years_owned_max: float | None = None
    years_owned_min: float | None = None


class RecordFlagsOut(BaseModel):
    owner_occupied: bool | None
    absentee: bool | None
    out_of_state: bool | None
    corporate: bool
    trust: bool
    government: bool
    foreign_mailing: bool
    po_box: bool
    years_owned: float | None


class OwnerSummary(BaseModel):
    id: uuid.UUID
    entity_key: str = Field(description='"own:" + the smallest member record id')
    display_name: str
    kind: str
    record_count: int
    property_count: int
    total_estimated_value: float | None = Field(
        None, description="sum of the latest valuation of each valued property (USD)"
    )
    flags: OwnerFlagsOut
    updated_at: datetime | None = None


class OwnerPage(BaseModel):
    items: list[OwnerSummary]
    total: int
    limit: int
    offset: int


class TopOwner(OwnerSummary):
    pagerank: float


class OwnerRecordOut(BaseModel):
    id: uuid.UUID
    owner_record_id: str
    owner_name: str | None
    owner_name_2: str | None
    mailing_address: str | None
    mailing_address_2: str | None
    mailing_city: str | None
    mailing_state: str | None
    mailing_zip: str | None
    mailing_country: str | None
    match_probability: float | None
    property_id: uuid.UUID | None
    link_status: str
    property_unknown: bool = Field(description="no stored property is linked to this record")
    flags: RecordFlagsOut


class OwnedPropertyOut(BaseModel):
    property_id: uuid.UUID
    owner_record_id: str
    address: str | None
    city: str | None
    state: str | None
    zip: str | None
    estimated_value: float | None
    valuation_date: date | None
    last_sale_date: date | None
    years_owned: float | None
    owner_occupied: bool | None
    absentee: bool | None
    out_of_state: bool | None


class RelatedOwnerOut(BaseModel):
    id: uuid.UUID
    entity_key: str
    display_name: str
    kind: str
    reason: str


class PortfolioSummary(BaseModel):
    property_count: int
    valued_property_count: int
    total_estimated_value: float | None
    property_unknown_count: int = Field(description="records whose property is not stored")
    cities: list[str]
    states: list[str]
    zips: list[str]


class PortfolioOut(PortfolioSummary):
    entity_id: uuid.UUID
    display_name: str
    properties: list[OwnedPropertyOut]


class OwnerDetail(OwnerSummary):
    records: list[OwnerRecordOut]
    properties: list[OwnedPropertyOut]
    related: list[RelatedOwnerOut]
    portfolio: PortfolioSummary


class ResolutionReportOut(BaseModel):
    run_id: uuid.UUID | None = None
    mode: Literal["full", "incremental"]
    method: str
    reason: str | None = None
    records: int
    entities: int
    merges: int
    new_records: int = 0
    changed_records: int = 0
    parties: int | None = None
    pairs_scored: int | None = None
    links_accepted: int | None = None
    overrides_applied: int | None = None
    overrides_rejected: list[str] = []
    probability_histogram: dict[str, int] = {}
    bridges: dict[str, list[str]] = Field(
        {}, description="new records matching several existing owners: candidates to merge"
    )
    entities_created: int = 0
    entities_removed: int = 0
    property_unknown: int = 0
    duplicate_record_ids: list[str] = []
    seconds: float
    threshold: float
    note: str | None = None


class MergeResult(BaseModel):
    entity: OwnerSummary
    removed_entity_id: uuid.UUID | None
    already_same_owner: bool
    override_id: uuid.UUID
    splits_withdrawn: int


class SplitResult(BaseModel):
    entity: OwnerSummary
    new_entity: OwnerSummary
    splits_added: int
    merges_withdrawn: int


def report_out(report: dict[str, Any]) -> ResolutionReportOut:
    return ResolutionReportOut.model_validate(report)
