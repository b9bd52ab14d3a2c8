"""Property routes: CRUD, filters, pagination, radius and polygon search, provenance,
role checks, cross-organisation isolation and hostile input."""

from __future__ import annotations

from typing import Any

import pytest

HOUSE = {
    "parcel_number": "0907-12-345",
    "address": "123 North Main Street Apt 4",
    "city": "Ames",
    "state": "IA",
    "zip": "50010",
    "latitude": 42.0347,
    "longitude": -93.6200,
    "property_type": "single_family",
    "living_area_sqft": 1450,
    "lot_size_sqft": 8000,
    "beds": 3,
    "baths_full": 2,
    "baths_half": 1,
    "year_built": 1978,
    "stories": 1,
}


def _create(client: Any, org: Any, **overrides: Any) -> dict[str, Any]:
    r = client.post("/api/v1/properties", json={**HOUSE, **overrides}, headers=org.headers())
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_create_get_patch_delete_with_audit_and_history(client: Any, org: Any) -> None:
    p = _create(client, org)
    for key in (
        "id",
        "parcel_number",
        "address",
        "city",
        "state",
        "zip",
        "latitude",
        "longitude",
        "property_type",
        "living_area_sqft",
        "lot_size_sqft",
        "beds",
        "baths_full",
        "baths_half",
        "year_built",
        "stories",
    ):
        assert key in p
    assert p["address"] == HOUSE["address"]
    assert p["address_normalized"].startswith("123 N MAIN ST")
    r = client.patch(f"/api/v1/properties/{p['id']}", json={"beds": 4}, headers=org.headers())
    assert r.status_code == 200 and r.json()["beds"] == 4
    prov = client.get(f"/api/v1/properties/{p['id']}?provenance=true", headers=org.headers()).json()
    assert prov["provenance"]["beds"]["source"] == "api"
    assert prov["history"][0]["field"] == "beds" and prov["history"][0]["old"]["value"] == 3
    assert client.delete(f"/api/v1/properties/{p['id']}", headers=org.headers()).status_code == 204
    assert client.get(f"/api/v1/properties/{p['id']}", headers=org.headers()).status_code == 404
    audit = client.get("/api/v1/audit?entity_type=property", headers=org.headers()).json()
    assert [a["action"] for a in audit if a["entity_id"] == p["id"]] == [
        "delete",
        "update",
        "create",
    ]
    assert audit[1]["changes"]["beds"] == {"from": 3, "to": 4}


def test_filters_sort_and_pagination(client: Any, org: Any) -> None:
    for i, (city, area, year) in enumerate(
        [("Ames", 1000, 1950), ("Ames", 2000, 1990), ("Nevada", 1500, 2005)]
    ):
        _create(
            client, org, parcel_number=f"P{i}", city=city, living_area_sqft=area, year_built=year
        )
    r = client.get(
        "/api/v1/properties?city=ames&sort=-living_area_sqft&limit=1", headers=org.headers()
    ).json()
    assert r["total"] == 2 and len(r["items"]) == 1 and r["items"][0]["living_area_sqft"] == 2000
    r = client.get(
        "/api/v1/properties?city=ames&sort=-living_area_sqft&limit=1&offset=1",
        headers=org.headers(),
    ).json()
    assert r["items"][0]["living_area_sqft"] == 1000
    r = client.get(
        "/api/v1/properties?min_year_built=1980&max_area_sqft=1800", headers=org.headers()
    ).json()
    assert r["total"] == 1 and r["items"][0]["city"] == "Nevada"


def test_radius_and_polygon_search(client: Any, org: Any) -> None:
    center = (42.0300, -93.6200)
    near = _create(
        client, org, parcel_number="N", latitude=42.0309, longitude=-93.6200
    )  # ~100 m north
    mid = _create(client, org, parcel_number="M", latitude=42.0390, longitude=-93.6200)  # ~1.0 km
    _create(client, org, parcel_number="F", latitude=42.2000, longitude=-93.6200)  # ~18.9 km
    r = client.get(
        f"/api/v1/properties?near={center[0]},{center[1]}&radius_m=1500", headers=org.headers()
    ).json()
    assert [p["id"] for p in r["items"]] == [near["id"], mid["id"]]
    assert r["items"][0]["distance_m"] == pytest.approx(100.1, abs=1.0)
    wide = client.get(
        f"/api/v1/properties?near={center[0]},{center[1]}&radius_m=25000", headers=org.headers()
    ).json()
    assert wide["total"] == 3
    square = {
        "type": "Polygon",
        "coordinates": [
            [
                [-93.63, 42.025],
                [-93.61, 42.025],
                [-93.61, 42.035],
                [-93.63, 42.035],
                [-93.63, 42.025],
            ]
        ],
    }
    r = client.post(
        "/api/v1/properties/search", json={"geometry": square}, headers=org.headers()
    ).json()
    assert [p["id"] for p in r["items"]] == [near["id"]]
    holed = {
        "type": "Polygon",
        "coordinates": [
            square["coordinates"][0],
            [
                [-93.621, 42.030],
                [-93.619, 42.030],
                [-93.619, 42.032],
                [-93.621, 42.032],
                [-93.621, 42.030],
            ],
        ],
    }
    assert (
        client.post(
            "/api/v1/properties/search", json={"geometry": holed}, headers=org.headers()
        ).json()["total"]
        == 0
    )
    bad = client.post(
        "/api/v1/properties/search",
        json={"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}},
        headers=org.headers(),
    )
    assert bad.status_code == 422 and "polygon" in bad.json()["message"].lower()


def test_roles_on_property_routes(client: Any, org: Any, role_headers: Any) -> None:
    p = _create(client, org)
    analyst = role_headers("analyst")
    assert client.get(f"/api/v1/properties/{p['id']}", headers=analyst).status_code == 200
    assert (
        client.patch(f"/api/v1/properties/{p['id']}", json={"beds": 2}, headers=analyst).status_code
        == 200
    )
    for method, path in [
        ("get", "/api/v1/properties"),
        ("post", "/api/v1/properties"),
        ("get", f"/api/v1/properties/{p['id']}"),
        ("patch", f"/api/v1/properties/{p['id']}"),
        ("delete", f"/api/v1/properties/{p['id']}"),
        ("post", "/api/v1/properties/search"),
    ]:
        kwargs = {"json": {}} if method in ("post", "patch") else {}
        assert getattr(client, method)(path, **kwargs).status_code == 401, path


def test_cross_org_ids_are_404_and_change_nothing(client: Any, org: Any, other_org: Any) -> None:
    theirs = _create(client, other_org)
    pid = theirs["id"]
    assert client.get(f"/api/v1/properties/{pid}", headers=org.headers()).status_code == 404
    assert (
        client.patch(
            f"/api/v1/properties/{pid}", json={"beds": 9}, headers=org.headers()
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/properties/{pid}", headers=org.headers()).status_code == 404
    assert client.get(f"/api/v1/properties/{pid}/sales", headers=org.headers()).status_code == 404
    assert client.get(f"/api/v1/properties/{pid}", headers=other_org.headers()).json()["beds"] == 3
    assert pid not in {
        p["id"]
        for p in client.get("/api/v1/properties?limit=500", headers=org.headers()).json()["items"]
    }


HOSTILE = [
    "' OR 1=1 --",
    "'; DROP TABLE properties; --",
    "<script>alert(1)</script>",
    "\x00",
    "%' UNION SELECT * FROM users --",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_injection_strings_in_filters_are_harmless(client: Any, org: Any, value: str) -> None:
    _create(client, org)
    for param in ("city", "state", "zip", "property_type", "sort", "near", "min_price"):
        r = client.get("/api/v1/properties", params={param: value}, headers=org.headers())
        assert r.status_code in (200, 422), (param, r.status_code)
        if r.status_code == 200:
            assert r.json()["total"] == 0
        else:
            assert r.json()["field"]
    assert client.get("/api/v1/properties", headers=org.headers()).json()["total"] == 1


def test_bad_bodies_are_4xx_naming_the_field(client: Any, org: Any) -> None:
    h = org.headers()
    r = client.post(
        "/api/v1/properties",
        content=b"{not json",
        headers={**h, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    r = client.post("/api/v1/properties", json={**HOUSE, "beds": "three"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "beds"
    r = client.post("/api/v1/properties", json={**HOUSE, "swimming_pool_colour": "blue"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "swimming_pool_colour"
    r = client.post("/api/v1/properties", json={**HOUSE, "latitude": 95}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "latitude"
    r = client.post(
        "/api/v1/properties", json={**HOUSE, "address": "<script>x</script>"}, headers=h
    )
    assert r.status_code == 201 and r.json()["address"] == "<script>x</script>"  # stored as data
    assert client.get("/api/v1/properties/not-a-uuid", headers=h).status_code == 422
    assert client.get("/api/v1/properties/not-a-uuid", headers=h).json()["field"] == "property_id"
    big = b'{"address": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    r = client.post(
        "/api/v1/properties", content=big, headers={**h, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    count = client.get("/api/v1/properties", headers=h).json()["total"]
    assert count == 1  # only the script-string property was created


def test_provenance_only_when_asked(client: Any, org: Any) -> None:
    p = _create(client, org)
    assert (
        client.get(f"/api/v1/properties/{p['id']}", headers=org.headers()).json()["provenance"]
        is None
    )
    listed = client.get("/api/v1/properties", headers=org.headers()).json()["items"]
    assert all(item["provenance"] is None for item in listed)
    full = client.get(f"/api/v1/properties/{p['id']}?provenance=true", headers=org.headers()).json()
    assert full["provenance"]["living_area_sqft"]["source"] == "api"
