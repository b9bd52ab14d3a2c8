"""The attributes of a property as a request body gives them: the shared piece of the
properties API's create and update bodies and of the valuation API's subject (a house
valued without being stored), so both refuse and normalise the same input the same way.
A ZIP+4 is split into the ZIP and its add-on; coordinates come in pairs."""

from __future__ import annotations

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from reos.kernel.schemas import InputModel
from reos.kernel.vocabulary import PropertyType


class PropertyFields(InputModel):
    parcel_number: str | None = Field(default=None, max_length=64)
    address: str | None = Field(
        default=None, max_length=500, description="one-line address as given"
    )
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")
    zip: str | None = Field(
        default=None,
        pattern=r"^[0-9]{5}([- ]?[0-9]{4})?$",
        description="five-digit ZIP, or ZIP+4 (50010-1234, 500101234, 50010 1234): the "
        "add-on is stored in zip4",
    )
    zip4: str | None = Field(
        default=None,
        pattern=r"^[0-9]{4}$",
        description="ZIP+4 add-on (RESO PostalCodePlus4); when zip carries an add-on too, "
        "the two must agree",
    )
    latitude: float | None = Field(
        default=None, ge=-90, le=90, description="with longitude, or neither"
    )
    longitude: float | None = Field(
        default=None, ge=-180, le=180, description="with latitude, or neither"
    )
    property_type: PropertyType | None = None
    living_area_sqft: float | None = Field(default=None, gt=0, le=1_000_000)
    lot_size_sqft: float | None = Field(default=None, gt=0, le=1_000_000_000)
    beds: int | None = Field(default=None, ge=0, le=50)
    baths_full: int | None = Field(default=None, ge=0, le=50)
    baths_half: int | None = Field(default=None, ge=0, le=50)
    year_built: int | None = Field(default=None, ge=1700, le=2100)
    stories: float | None = Field(default=None, gt=0, le=200)

    @field_validator("zip4")
    @classmethod
    def _zip4_agrees_with_zip(cls, value: str | None, info: ValidationInfo) -> str | None:
        given = info.data.get("zip")
        if value is not None and given is not None and len(given) > 5 and given[-4:] != value:
            raise ValueError(f"{value} differs from the add-on of zip {given}")
        return value

    # The pairing below, in the published schema: both coordinates absent or null, or both
    # numbers.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "properties": {
                        "latitude": {"type": "null"},
                        "longitude": {"type": "null"},
                    }
                },
                {
                    "properties": {
                        "latitude": {"type": "number"},
                        "longitude": {"type": "number"},
                    },
                    "required": ["latitude", "longitude"],
                },
            ]
        }
    )

    @model_validator(mode="after")
    def _coordinates_in_pairs(self) -> PropertyFields:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude must be given together")
        return self

    @model_validator(mode="after")
    def _zip_plus4_apart(self) -> PropertyFields:
        """A ZIP+4 is stored as the ZIP and its add-on, so a search by ZIP finds it. A ZIP
        given without an add-on replaces an old add-on too (it belonged to the old ZIP),
        unless zip4 is given alongside."""
        if "zip" not in self.model_fields_set:
            return self
        whole = self.zip
        plus4 = whole[-4:] if whole is not None and len(whole) > 5 else None
        if whole is not None:
            self.zip = whole[:5]
        if "zip4" not in self.model_fields_set or self.zip4 is None:
            self.zip4 = plus4
        return self
