def htmx_partial(request) -> bool:
    """True when htmx asks for a fragment (not a boosted full-page navigation)."""
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted
