"""The QUANTITY attrs input of both TUIs, over the one grammar of :mod:`workbench.core.quantity`."""

from __future__ import annotations

from ..core import quantity
from .change import SessionError


def parse_value(s: str) -> int | float | None:
    """``"1500万"`` → 15000000; ``"一千五百万"`` → 15000000; ``""`` → None (the one number
    grammar of :mod:`workbench.core.quantity`)."""
    try:
        return quantity.parse_value(s)
    except ValueError as e:
        raise SessionError(str(e)) from None


def attrs_from_fields(value: str, unit: str, approx: str) -> dict:
    """QUANTITY attrs from the three inline inputs, validated (SessionError otherwise)."""
    try:
        return quantity.attrs_from_fields(value, unit, approx)
    except ValueError as e:
        raise SessionError(str(e)) from None
