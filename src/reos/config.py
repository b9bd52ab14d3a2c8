"""One typed settings object, read from ``REOS_*`` environment variables.

Read lazily through :func:`get_settings` so tests and commands can change the environment
before the first use; :func:`reset_settings` drops the cache.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REOS_", extra="ignore")

    home: Path = Field(
        default=Path(".reos"), description="Folder for the embedded store, secrets and models."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file under REOS_HOME."
    )
    app_role: str = Field(
        default="reos_app",
        description="PostgreSQL role every application transaction switches to (RLS applies to it).",
    )
    jwt_secret: str | None = Field(
        default=None, description="HS256 signing secret for access tokens."
    )
    access_token_minutes: int = 30
    refresh_token_days: int = 14
    redis_url: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    db_pool_size: int = Field(
        default=10,
        ge=1,
        description="Database connections each process keeps open (as many again may open "
        "under load). A request beyond them opens and closes its own connection, which costs "
        "SQLite a fresh read of the schema and PostgreSQL a login.",
    )
    api_key_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="Seconds an API process remembers a verified API key (0: check the "
        "database every request). Revocation still applies at once: see reos.accounts.keycache.",
    )
    map_tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Raster tile URL template of the dashboard's maps; 'none' draws the "
        "offline basemap instead (no tiles: outlines of the data's own areas).",
    )
    map_tile_attribution: str = Field(
        default="© OpenStreetMap contributors",
        description="Credit shown on the maps for the tile source.",
    )
    rate_limit_ip_per_min: int = 120
    rate_limit_org_per_min: int = 600
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins for one account (email) within REOS_LOGIN_FAILURE_WINDOW_S "
        "that lock it for a while.",
    )
    login_failure_window_s: int = Field(
        default=900, ge=1, description="Seconds over which an account's failed sign-ins add up."
    )
    login_lockout_s: int = Field(
        default=60,
        ge=1,
        description="First lockout of an account, in seconds; each further lockout doubles it.",
    )
    login_lockout_max_s: int = Field(
        default=900,
        ge=1,
        description="Longest lockout, in seconds: a guesser can delay a user, never shut them out.",
    )
    max_body_bytes: int = 10 * 1024 * 1024
    oidc_jwks_url: str | None = None
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_org_claim: str = "reos_org"
    oidc_roles_claim: str = "reos_roles"
    log_level: str = "INFO"
    skip_schema_check: bool = False
    inprocess_worker: bool = Field(
        default=True,
        description="Run background jobs (imports) in a thread of the API process; turn off "
        "when separate `reos worker` processes share the queue.",
    )
    job_time_limit_s: int = Field(
        default=900,
        ge=1,
        description="Longest a background job may run (one attempt); a job past it fails "
        "with that reason and is not tried again.",
    )
    job_lease_s: int = Field(
        default=300,
        ge=1,
        description="How long a claimed job stays reserved for its worker without a "
        "heartbeat; the worker renews it every third of this while the job runs.",
    )
    job_max_running_per_org: int = Field(
        default=0,
        ge=0,
        description="Most jobs one organisation may have running at once across all "
        "workers (0: no cap). Claims always prefer the organisation with the fewest running.",
    )

    # Honest limits of a valuation (reos.valuation.limits, reos.valuation.service). The comp
    # limits are medians over the comps a value uses; their defaults were chosen from the
    # Ames out-of-time experiments of benchmarks/comp_limits.py (its docstring gives the rule).
    score_min_outcomes: int = Field(
        default=500,
        ge=1,
        description="Outcomes (deals won, lost, dead; offers accepted or refused) an "
        "organisation needs before a trained deal-score model may replace the default weights.",
    )
    avm_stale_after_sales: int = Field(
        default=1,
        ge=1,
        description="A model is stale once the store holds at least this many sales it was "
        "not trained on (closed on or after its cut-off, or recorded after it read the sales); "
        "valuations then say so and `reos avm train --if-stale` retrains.",
    )
    avm_future_tolerance_days: int = Field(
        default=1,
        ge=0,
        description="Days past today (UTC) a valuation date may lie (time zones); later "
        "dates are refused.",
    )
    avm_downgrade_comp_distance_m: float = Field(
        default=800.0,
        gt=0,
        description="Median comp distance (metres) above which a value is graded C at best.",
    )
    avm_refuse_comp_distance_m: float = Field(
        default=7000.0,
        gt=0,
        description="Median comp distance (metres) above which no value is given.",
    )
    avm_downgrade_comp_months: float = Field(
        default=36.0,
        gt=0,
        description="Median comp age at the valuation date (months) above which a value is "
        "graded C at best.",
    )
    avm_refuse_comp_months: float = Field(
        default=48.0,
        gt=0,
        description="Median comp age at the valuation date (months) above which no value is given.",
    )
    avm_downgrade_gross_adjustment_pct: float = Field(
        default=80.0,
        gt=0,
        description="Median gross adjustment of the comps (% of their time-adjusted price) "
        "above which a value is graded C at best.",
    )
    avm_refuse_gross_adjustment_pct: float = Field(
        default=125.0,
        gt=0,
        description="Median gross adjustment of the comps (%) above which no value is given.",
    )
    avm_downgrade_missing_importance_pct: float = Field(
        default=0.5,
        gt=0,
        description="Share (%) of the hedonic model's split gain carried by fields most "
        "sales have and the subject lacks, above which a value is graded C at best.",
    )
    avm_refuse_missing_importance_pct: float = Field(
        default=10.0,
        gt=0,
        description="Share (%) of the model's split gain the subject may lack before no "
        "value is given (supply the fields the refusal names).",
    )

    # How much work one XLSX workbook may ask for (reos.ingest.xlsx). A small archive can
    # hold gigabytes of XML; these bound the time and memory of opening and reading one,
    # and a refusal names the setting to raise for a genuine file.
    xlsx_max_part_bytes: int = Field(
        default=1 << 30, description="Largest uncompressed size of one part of an XLSX file."
    )
    xlsx_max_total_bytes: int = Field(
        default=2 << 30, description="Largest uncompressed size of all parts of an XLSX file."
    )
    xlsx_max_compression_ratio: int = Field(
        default=100,
        description="Largest expansion of an XLSX part over 1 MiB (uncompressed/compressed); "
        "real sheets expand 5-30 times, decompression bombs hundreds or thousands.",
    )
    xlsx_max_shared_strings: int = Field(
        default=2_000_000, description="Most shared strings (distinct texts) in an XLSX file."
    )
    xlsx_max_shared_string_chars: int = Field(
        default=100_000_000, description="Most characters in all shared strings of an XLSX file."
    )
    xlsx_max_rows: int = Field(
        default=1_048_576, description="Most rows in the imported sheet (Excel's own limit)."
    )
    xlsx_max_columns: int = Field(
        default=2_048, description="Rightmost column a cell of the imported sheet may use."
    )
    xlsx_max_cells: int = Field(default=50_000_000, description="Most cells in the imported sheet.")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'reos.db').resolve()}"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    def signing_secret(self) -> str:
        """The JWT secret: from settings, else generated once into REOS_HOME (mode 0600).

        There is no built-in default, so no two installations share a secret.
        """
        if self.jwt_secret:
            return self.jwt_secret
        path = self.home / "jwt_secret"
        if path.exists():
            return path.read_text().strip()
        self.home.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    get_settings.cache_clear()
