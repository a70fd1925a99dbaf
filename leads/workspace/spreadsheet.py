"""CSV cells that spreadsheets will not run as formulas (CSV/formula injection)."""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value, *, keep_numbers: bool = False) -> str:
    """A leading apostrophe makes a formula-like cell plain text. With `keep_numbers`,
    a cell that is just a number (e.g. -10 points) stays a number."""
    text = "" if value is None else str(value)
    if not text.startswith(FORMULA_PREFIXES) or (keep_numbers and _is_number(text)):
        return text
    return "'" + text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
