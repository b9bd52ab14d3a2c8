"""Parcel numbers compared the way counties write them.

One county writes ``012-345-678``, another ``012 345 678``, a list vendor ``012.345.678``
or ``12-345-678a``: the assessor's parcel number (APN / PIN) is the same when the letters
and digits are, in the same order, whatever the case and separators. :func:`parcel_key`
is that comparison key; :data:`PARCEL_SEPARATORS` are the characters it drops, which a
store-side expression (``reos.properties.read_model``) drops the same way.
"""

from __future__ import annotations

#: Characters a parcel number's key ignores: spaces, dashes, dots, slashes, underscores.
PARCEL_SEPARATORS = (" ", "-", ".", "/", "_", "\t")


def parcel_key(parcel_number: object) -> str | None:
    """Upper case without separators; None for a blank parcel number. Leading zeros are
    kept (``0123`` and ``123`` are different parcels in many counties)."""
    if parcel_number is None:
        return None
    text = str(parcel_number).upper()
    for separator in PARCEL_SEPARATORS:
        text = text.replace(separator, "")
    return text or None
