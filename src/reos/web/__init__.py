"""The web dashboard: server-rendered pages (Jinja2 + htmx) over every domain's front.

Wiring, like :mod:`reos.flows`: a page reads and acts through each domain's ``service``
and ``read_model``, never its tables. Pages share the API's process, its tenancy (one
tenant session per request, committed before the response by
:mod:`reos.http.unit_of_work`) and its roles. See ``ARCHITECTURE.md`` ("The web
dashboard") for the map of pages, the session cookie, CSRF and the vendored assets.
"""
