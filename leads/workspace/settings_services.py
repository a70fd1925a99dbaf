"""Writes of the Settings area: webhook endpoints, daily-report subscriptions, users and
roles, failed jobs. Write keys are created in leads.ingest.credentials (their secret logic)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation, NoSuchJobError

from leads.background.report import SUBSCRIBERS_GROUP
from leads.ingest.credentials import new_secret
from leads.models import WebhookEndpoint, WriteKey
from leads.roles import MARKETERS, SALES_REPS
from scoring_site.queueing import queue

ROLE_GROUPS = {"marketer": MARKETERS, "rep": SALES_REPS}


class SettingsError(Exception):
    """A refusal to show the person as it is ("field: what is wrong")."""


def write_key_disable(*, key: WriteKey) -> WriteKey:
    key.is_active = False
    key.save(update_fields=["is_active"])
    return key


def webhook_endpoint_save(
    *, endpoint: WebhookEndpoint | None = None, name: str, url: str, secret: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Create or change an endpoint. An empty secret keeps the current one (or makes a new one
    for a new endpoint); returns the endpoint and the secret to show once ("" when kept)."""
    shown = ""
    if endpoint is None:
        endpoint = WebhookEndpoint()
        shown = secret or new_secret("whsec")
    elif secret:
        shown = secret
    endpoint.name, endpoint.url = name.strip(), url.strip()
    if shown:
        endpoint.secret = shown
    endpoint.save()
    return endpoint, shown


def webhook_endpoint_set_active(*, endpoint: WebhookEndpoint, is_active: bool) -> WebhookEndpoint:
    endpoint.is_active = is_active
    endpoint.save(update_fields=["is_active"])
    return endpoint


def report_subscribers_set(*, users) -> None:
    """Exactly these users are in the "Daily report" group afterwards."""
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=SUBSCRIBERS_GROUP)
        group.user_set.set(list(users))


def user_create(*, username: str, email: str, role: str, password: str):
    """A signed-in-able user with one role; the password is temporary (the person changes it)."""
    if role not in ROLE_GROUPS:
        raise SettingsError(f"role: must be one of {', '.join(ROLE_GROUPS)}, not {role!r}")
    User = get_user_model()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise SettingsError(f"username: {username!r} is taken")
        user = User.objects.create_user(username=username, email=email, password=password)
        user.groups.add(Group.objects.get_or_create(name=ROLE_GROUPS[role])[0])
    return user


def user_deactivate(*, user, by) -> None:
    if user.pk == by.pk:
        raise SettingsError("user: you cannot deactivate your own account")
    user.is_active = False
    user.save(update_fields=["is_active"])


def failed_job_requeue(*, queue_name: str, job_id: str) -> None:
    _failed_job_act(queue_name, job_id, lambda registry: registry.requeue(job_id))


def failed_job_delete(*, queue_name: str, job_id: str) -> None:
    _failed_job_act(queue_name, job_id, lambda registry: registry.remove(job_id, delete_job=True))


def _failed_job_act(queue_name, job_id, action) -> None:
    from django.conf import settings

    if queue_name not in settings.RQ_QUEUES:
        raise SettingsError(f"queue: no queue named {queue_name!r}")
    try:
        registry = queue(queue_name).failed_job_registry
        if job_id not in registry:
            raise SettingsError(f"job: {job_id} is no longer among the failed jobs of {queue_name!r}")
        action(registry)
    except (NoSuchJobError, InvalidJobOperation):
        raise SettingsError(f"job: {job_id} is no longer among the failed jobs of {queue_name!r}") from None
    except (RedisError, OSError):
        raise SettingsError("Redis is unavailable: failed jobs can be requeued once it is back.") from None
