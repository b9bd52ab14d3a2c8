"""The dashboard's pages, one module per area; each exposes ``router`` (see
:data:`reos.web.mount.PAGE_ROUTERS`)."""
