"""Who may do what: marketers (everything), sales reps (their leads, feedback), admins."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

MARKETERS = "Marketers"
SALES_REPS = "Sales reps"


def _in_group(user, name):
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_leadscore_groups", None)
    if cached is None:
        cached = user._leadscore_groups = set(user.groups.values_list("name", flat=True))
    return name in cached


def is_marketer(user):
    return user.is_authenticated and (user.is_superuser or _in_group(user, MARKETERS))


def is_rep(user):
    return _in_group(user, SALES_REPS) and not is_marketer(user)


def role_of(user):
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return "admin"
    return "marketer" if is_marketer(user) else "rep" if is_rep(user) else None


def marketer_required(view):
    """Signed-in marketers only: anonymous users go to sign in, everyone else gets 403."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not is_marketer(request.user):
            raise PermissionDenied("This page is for marketers.")
        return view(request, *args, **kwargs)

    return wrapper


def visible_leads(user, queryset):
    """Marketers see every lead; a rep sees only the leads assigned to them."""
    return queryset if is_marketer(user) else queryset.filter(owner=user)


def visible_accounts(user, queryset):
    """Marketers see every account; a rep sees the accounts where they own at least one lead."""
    if is_marketer(user):
        return queryset
    from leads.models import Lead  # roles is imported by models' neighbours; keep it import-light

    return queryset.filter(pk__in=Lead.objects.filter(owner=user, account__isnull=False).values("account_id"))
