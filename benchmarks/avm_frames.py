"""Convert the sample CSVs to the valuation engine's sales frame (stand-in for the importer).

Kept out of ``src/``: the real import pipeline maps source columns with a mapping file.
Used by ``benchmarks/avm_backtest.py`` and ``tests/valuation/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
AMES_CSV = REPO / "data" / "samples" / "ames_iowa_sales_2006_2010.csv"
SACRAMENTO_CSV = REPO / "data" / "samples" / "sacramento_ca_sales_2008.csv"

# Overall_Cond value names in rating order -> reos condition 1..10.
AMES_CONDITION = {
    name: i + 1
    for i, name in enumerate(
        [
            "Very_Poor",
            "Poor",
            "Fair",
            "Below_Average",
            "Average",
            "Above_Average",
            "Good",
            "Very_Good",
            "Excellent",
            "Very_Excellent",
        ]
    )
}
AMES_ARM_LENGTH = {
    "Normal": True,
    "Partial": True,
    "Abnorml": False,
    "Family": False,
    "Alloca": False,
    "AdjLand": False,
}
AMES_PROPERTY_TYPE = {
    "OneFam": "single_family",
    "TwnhsE": "townhouse",
    "Twnhs": "townhouse",
    "Duplex": "multi_family",
    "TwoFmCon": "multi_family",
}
AMES_STORIES = {
    "One_Story": 1.0,
    "One_and_Half_Fin": 1.5,
    "One_and_Half_Unf": 1.5,
    "Two_Story": 2.0,
    "Two_and_Half_Fin": 2.5,
    "Two_and_Half_Unf": 2.5,
    "SFoyer": 1.5,
    "SLvl": 1.5,
}
# Extra attributes an organisation's mapping could supply: reos attr name -> Ames column.
AMES_EXTRAS = {
    "attr_garage_area_sqft": "Garage_Area",
    "attr_first_floor_sqft": "First_Flr_SF",
    "attr_second_floor_sqft": "Second_Flr_SF",
    "attr_exterior_condition": "Exter_Cond",
    "attr_building_style": "House_Style",
    "attr_building_type": "Bldg_Type",
    "attr_zoning": "MS_Zoning",
    "attr_fireplaces": "Fireplaces",
    "attr_central_air": "Central_Air",
    "attr_masonry_veneer_sqft": "Mas_Vnr_Area",
    "attr_wood_deck_sqft": "Wood_Deck_SF",
    "attr_open_porch_sqft": "Open_Porch_SF",
    "attr_enclosed_porch_sqft": "Enclosed_Porch",
    "attr_screen_porch_sqft": "Screen_Porch",
    "attr_lot_frontage_ft": "Lot_Frontage",
    "attr_heating_qc": "Heating_QC",
    "attr_foundation": "Foundation",
    "attr_exterior_cover": "Exterior_1st",
    "attr_basement_exposure": "Bsmt_Exposure",
    "attr_basement_finish": "BsmtFin_Type_1",
    "attr_garage_type": "Garage_Type",
    "attr_garage_finish": "Garage_Finish",
    "attr_functional": "Functional",
    "attr_kitchens": "Kitchen_AbvGr",
    "attr_total_rooms": "TotRms_AbvGrd",
    "attr_basement_full_baths": "Bsmt_Full_Bath",
    "attr_lot_shape": "Lot_Shape",
    "attr_lot_config": "Lot_Config",
    "attr_condition_1": "Condition_1",
    "attr_roof_style": "Roof_Style",
    "attr_paved_drive": "Paved_Drive",
}


def ames_frame(path: Path = AMES_CSV) -> pd.DataFrame:
    """Ames CSV -> reos sales frame (month-precision dates on the 1st, no zip)."""
    raw = pd.read_csv(path)
    n = len(raw)
    frame = pd.DataFrame(
        {
            "sale_id": [f"ames-{i}" for i in range(n)],
            "property_id": [f"ames-p{i}" for i in range(n)],
            "close_date": pd.to_datetime(
                {"year": raw["Year_Sold"], "month": raw["Mo_Sold"], "day": 1}
            ),
            "close_date_precision": "month",
            "sale_price": raw["Sale_Price"].astype("float64"),
            "arm_length": raw["Sale_Condition"].map(AMES_ARM_LENGTH).astype(object),
            "sale_condition": raw["Sale_Condition"],
            "sale_type": raw["Sale_Type"].str.strip(),
            "latitude": raw["Latitude"],
            "longitude": raw["Longitude"],
            "neighborhood": raw["Neighborhood"],
            "property_type": raw["Bldg_Type"].map(AMES_PROPERTY_TYPE).fillna("other"),
            "living_area_sqft": raw["Gr_Liv_Area"].astype("float64"),
            "lot_size_sqft": raw["Lot_Area"].astype("float64"),
            "beds": raw["Bedroom_AbvGr"].astype("float64"),
            "baths_full": raw["Full_Bath"].astype("float64"),
            "baths_half": raw["Half_Bath"].astype("float64"),
            "year_built": raw["Year_Built"].astype("float64"),
            "year_remodeled": raw["Year_Remod_Add"].astype("float64"),
            "stories": raw["House_Style"].map(AMES_STORIES),
            "condition": raw["Overall_Cond"].map(AMES_CONDITION).astype("float64"),
            "garage_spaces": raw["Garage_Cars"].astype("float64"),
            "basement_area_sqft": raw["Total_Bsmt_SF"].astype("float64"),
            "pool": raw["Pool_Area"] > 0,
            "address": [f"Ames sale {i}" for i in range(n)],
        }
    )
    for attr, col in AMES_EXTRAS.items():
        frame[attr] = raw[col]
    return frame


def sacramento_frame(path: Path = SACRAMENTO_CSV) -> pd.DataFrame:
    """Sacramento CSV -> reos sales frame (no dates in the file: all on 2008-05-19, day)."""
    raw = pd.read_csv(path)
    n = len(raw)
    types = {"Residential": "single_family", "Condo": "condo", "Multi_Family": "multi_family"}
    return pd.DataFrame(
        {
            "sale_id": [f"sac-{i}" for i in range(n)],
            "property_id": [f"sac-p{i}" for i in range(n)],
            "close_date": pd.Timestamp("2008-05-19"),
            "close_date_precision": "day",
            "sale_price": raw["price"].astype("float64"),
            "arm_length": pd.NA,
            "latitude": raw["latitude"],
            "longitude": raw["longitude"],
            "zip": raw["zip"].str.lstrip("z"),
            "attr_city": raw["city"],
            "property_type": raw["type"].map(types).fillna("other"),
            "living_area_sqft": raw["sqft"].astype("float64"),
            "beds": raw["beds"].astype("float64"),
            "baths_full": raw["baths"].astype("float64"),
        }
    )


def synthetic_frame(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` sales resampled from Ames with jittered coordinates (~150 m), dates and prices.

    For speed measurements only: the rows keep Ames's structure but are new sales.
    """
    base = ames_frame()
    rng = np.random.default_rng(seed)
    frame = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    frame["sale_id"] = [f"syn-{i}" for i in range(n)]
    frame["property_id"] = [f"syn-p{i}" for i in range(n)]
    frame["latitude"] = frame["latitude"] + rng.normal(0, 0.0014, n)
    frame["longitude"] = frame["longitude"] + rng.normal(0, 0.0018, n)
    shift = rng.integers(-2, 3, n)
    frame["close_date"] = (frame["close_date"].dt.to_period("M") + shift).dt.to_timestamp()
    frame["sale_price"] = frame["sale_price"] * np.exp(rng.normal(0, 0.03, n))
    frame["living_area_sqft"] = (frame["living_area_sqft"] * np.exp(rng.normal(0, 0.03, n))).round()
    return frame
