from django.urls import NoReverseMatch, reverse

from leads.roles import role_of

# (label, url name, who sees it). Pages appear in the menu once their URL exists.
NAVIGATION = (
    ("Dashboard", "leads:dashboard", {"marketer", "admin"}),
    ("Leads", "leads:list", {"marketer", "admin", "rep"}),
    ("My leads", "models_review:my_leads", {"rep"}),
    ("Accounts", "leads:accounts", {"marketer", "admin", "rep"}),
    ("Segments", "leads:segments", {"marketer", "admin"}),
    ("Model", "models_review:versions", {"marketer", "admin"}),
    ("Feedback", "models_review:feedback", {"marketer", "admin"}),
    ("Reviews", "models_review:reviews", {"marketer", "admin"}),
    ("NPS", "surveys:dashboard", {"marketer", "admin"}),
    ("Import", "leads:imports", {"marketer", "admin"}),
    ("CRM", "leads:crm", {"marketer", "admin"}),
    ("Jobs", "leads:status", {"marketer", "admin"}),
    ("Settings", "leads:settings", {"marketer", "admin"}),
)


def roles(request):
    role = role_of(request.user) if hasattr(request, "user") else None
    return {"role": role, "is_marketer": role in {"marketer", "admin"}}


def navigation(request):
    role = role_of(request.user) if hasattr(request, "user") else None
    items = []
    for label, name, audience in NAVIGATION:
        if role not in audience:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": False})
    # /leads/ prefixes /leads/dashboard/ too: only the longest matching entry is the current page.
    matching = [item for item in items if request.path.startswith(item["url"])]
    if matching:
        max(matching, key=lambda item: len(item["url"]))["active"] = True
    return {"nav_items": items}
