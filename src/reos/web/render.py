"""Templates: one Jinja2 environment, autoescaping every value (a property whose address
is ``<script>`` renders as text), and the formatting filters the pages share."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from reos import __version__

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def money(value: Any, places: int = 0) -> str:
    """Dollars with thousands separators: ``$1,234``; a negative as ``-$1,234``; blank
    for a missing value (shown as an en dash)."""
    if value is None or value == "":
        return "–"
    number = Decimal(str(value))
    sign = "-" if number < 0 else ""
    return f"{sign}${abs(number):,.{places}f}"


def pct(value: Any, places: int = 1) -> str:
    """A fraction as a percentage: 0.0825 → ``8.3%``."""
    if value is None or value == "":
        return "–"
    return f"{float(value) * 100:.{places}f}%"


def num(value: Any, places: int = 0) -> str:
    if value is None or value == "":
        return "–"
    return f"{float(value):,.{places}f}"


def day(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def tojson_attr(value: Any) -> Markup:
    """JSON for a ``data-`` attribute or a ``<script type="application/json">``: ``<``, ``>``
    and ``&`` escaped, so no user string can close the element."""
    text = json.dumps(value, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("'", "\\u0027"))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, pct=pct, num=num, day=day, tojson_attr=tojson_attr)
    env.globals["version"] = __version__
    env.globals["static"] = lambda path: f"/static/{path}?v={__version__}"
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The template rendered with the request's web session (``request.state.web``, set by
    :mod:`reos.web.context`) and its CSRF token in every page's context."""
    web = getattr(request.state, "web", None)
    settings = getattr(request.app.state, "settings", None)
    values = {
        "map_tiles": getattr(settings, "map_tile_url", "none"),
        "map_attribution": getattr(settings, "map_tile_attribution", ""),
        "request": request,
        "web": web,
        "csrf": web.csrf if web is not None else "",
        "path": request.url.path,
        **(context or {}),
    }
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
