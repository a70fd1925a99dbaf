"""The RQ dashboard at /admin/rq/, read-only except for admins.

Its own views let any staff user (every marketer) empty a queue, delete or requeue jobs.
Every action there is a POST, so refusing other methods to non-admins leaves marketers
the view of queues, workers and failures and admins the buttons."""

from functools import wraps

import django_rq.urls
from django.core.exceptions import PermissionDenied
from django.urls import URLPattern

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def admins_act(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in SAFE_METHODS and not request.user.is_superuser:
            raise PermissionDenied(
                "Only admins may change queues and jobs; the dashboard is read-only for you."
            )
        return view(request, *args, **kwargs)

    return wrapper


def urlpatterns() -> tuple[list[URLPattern], str]:
    """django_rq's own patterns (and namespace) with every staff view wrapped."""
    patterns = django_rq.urls.get_api_urlpatterns() + django_rq.urls.get_admin_urlpatterns(
        view_wrapper=admins_act
    )
    return patterns, django_rq.urls.app_name
