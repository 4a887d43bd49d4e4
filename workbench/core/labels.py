"""The default label schema ``report-v1`` (see ANNOTATION_GUIDE.md)."""

from __future__ import annotations

SCHEMA_NAME = "report-v1"

# order = number key in the annotate TUI (1..7)
LABELS: tuple[str, ...] = ("PERSON", "ORG", "LOC", "DATE", "DOC", "PROGRAM", "QUANTITY")

# colours for the TUI (rich colour names); domain code never needs them
COLORS: dict[str, str] = {
    "PERSON": "#ff8787",
    "ORG": "#5fafff",
    "LOC": "#87d787",
    "DATE": "#d7af5f",
    "DOC": "#d787d7",
    "PROGRAM": "#5fd7d7",
    "QUANTITY": "#ffd75f",
}

APPROX_VALUES = (None, "more", "about", "nearly")


def validate_attrs(label: str, attrs) -> str | None:
    """Return an error message if ``attrs`` do not fit ``label``, else None."""
    if label != "QUANTITY":
        if attrs not in (None, {}) and not isinstance(attrs, dict):
            return "attrs must be an object"
        return None
    if attrs is None:
        return None
    if not isinstance(attrs, dict):
        return "QUANTITY attrs must be an object"
    v = attrs.get("value")
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
        return f"QUANTITY value must be a number, not {v!r}"
    u = attrs.get("unit")
    if u is not None and not isinstance(u, str):
        return f"QUANTITY unit must be a string, not {u!r}"
    if attrs.get("approx") not in APPROX_VALUES:
        return f"QUANTITY approx must be one of more/about/nearly/null, not {attrs.get('approx')!r}"
    return None
