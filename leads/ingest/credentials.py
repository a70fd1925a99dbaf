"""Write keys (tracking sources) and API tokens (read API). Secrets are random, shown once,
and stored only as SHA-256: they are long and random, so a fast hash is enough and lets a
request find its key with one indexed lookup."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from leads.models import ApiToken, WriteKey
from leads.roles import MARKETERS, is_marketer

# Touching last_used_at on every call would turn every tracking request into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"


def write_key_create(*, name: str, by=None) -> tuple[WriteKey, str]:
    name = name.strip()
    if not name:
        raise ValueError("name: a write key needs the name of its source.")
    secret = new_secret("wk")
    key = WriteKey.objects.create(name=name, key_hash=digest(secret), key_prefix=secret[:10], created_by=by)
    return key, secret


def write_key_assign_secret(*, key: WriteKey) -> str:
    """Give an unsaved key (from the admin form) a fresh secret; returns it to show once."""
    secret = new_secret("wk")
    key.key_hash, key.key_prefix = digest(secret), secret[:10]
    return secret


def write_key_find(secret: str) -> WriteKey | None:
    if not secret:
        return None
    key = WriteKey.objects.filter(key_hash=digest(secret), is_active=True).first()
    if key is not None:
        _touch(WriteKey, key)
    return key


def api_token_create(*, username: str, name: str = "") -> tuple[ApiToken, str, bool]:
    """A token for `username`, who becomes a marketer if the account does not exist yet.
    Returns (token, secret, user_created)."""
    User = get_user_model()
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get_or_create(name=MARKETERS)[0])
        secret = new_secret("ls")
        token = ApiToken.objects.create(
            user=user, name=name, token_hash=digest(secret), token_prefix=secret[:10]
        )
    return token, secret, created


def api_token_assign_secret(*, token: ApiToken) -> str:
    secret = new_secret("ls")
    token.token_hash, token.token_prefix = digest(secret), secret[:10]
    return secret


def api_token_user(secret: str):
    """The active marketer a Bearer token belongs to, or None."""
    if not secret:
        return None
    token = ApiToken.objects.filter(token_hash=digest(secret)).select_related("user").first()
    if token is None or not token.user.is_active:
        return None
    _touch(ApiToken, token)
    return token.user


def api_token_is_for_marketer(user) -> bool:
    return user is not None and is_marketer(user)


def _touch(model, row) -> None:
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        model.objects.filter(pk=row.pk).update(last_used_at=now)
