"""A sales file read into the engine's sales frame through the real importer.

The backtest must see a file exactly as an organisation's data would arrive: mapped,
validated and stored by ``reos import``, then loaded back with the valuation service. This
does that in a throwaway embedded store, so nothing touches the user's database.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pandas as pd

from reos.accounts import service as accounts
from reos.db import schema
from reos.db.engine import make_engine
from reos.db.session import system_session, tenant_session
from reos.errors import ValidationFailed
from reos.ingest import service as ingest_service
from reos.ingest.service import ImportReport
from reos.valuation import service


def file_sales_frame(
    file: str | Path, mapping: str | Path | None = None
) -> tuple[pd.DataFrame, ImportReport]:
    """Import ``file`` (with ``mapping`` when its headers are not recognised) into a scratch
    store and return its sales frame and the import report."""
    path = Path(file)
    if not path.exists():
        raise ValidationFailed(f"{path}: no such file", field="file")
    with tempfile.TemporaryDirectory(prefix="reos-backtest-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/scratch.db")
        try:
            schema.upgrade(engine)
            with system_session(engine) as s:
                org_id = accounts.create_organization(
                    s, "backtest", f"backtest-{uuid.uuid4().hex[:8]}"
                ).id
            report = ingest_service.import_file(
                path,
                "sales",
                org_id=org_id,
                engine=engine,
                mapping_path=mapping,
                created_by="backtest",
            )
            with tenant_session(org_id, engine) as s:
                frame = service.sales_frame(s)
        finally:
            engine.dispose()
    return frame, report
