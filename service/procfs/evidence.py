"""How evidence names many things: the first few, and how many more there are."""

SHOWN = 6


def listed(items: list[str], shown: int = SHOWN) -> str:
    """The first `shown` of `items`, comma-separated, and "and N more" for the rest."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
