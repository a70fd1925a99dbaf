"""CSRF on every state-changing form: every URL the project serves, POSTed by a
signed-in marketer without a CSRF token, answers 403, except the machine API, which takes
no cookie authentication at all (401 with only a session cookie)."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

pytestmark = pytest.mark.django_db

MACHINE_API = "api:"


def named_urls(patterns=None, namespace=""):
    """(name, url) for every named URL pattern, with placeholder arguments."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from named_urls(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            converters = getattr(entry.pattern, "converters", {})
            kwargs = {key: 1 if isinstance(c, IntConverter) else "x" for key, c in converters.items()}
            name = namespace + entry.name
            try:
                yield name, reverse(name, kwargs=kwargs)
            except Exception:  # a regex pattern with groups: reverse with its own argument names
                continue


def test_every_form_post_without_a_token_is_refused(client, marketer):
    from django.test import Client

    enforcing = Client(enforce_csrf_checks=True)
    enforcing.force_login(marketer)
    checked, accepted = [], []
    for name, url in named_urls():
        if name.startswith(MACHINE_API):
            continue
        status = enforcing.post(url, {"name": "x"}).status_code
        checked.append(name)
        if status != 403:
            accepted.append((name, url, status))
    assert accepted == []
    assert len(checked) > 60 and {
        "leads:adjust",
        "leads:tags",
        "models_review:version_publish",
        "surveys:survey_send",
        "login",
        "logout",
    } <= set(checked)


def test_the_machine_api_refuses_cookie_only_authentication(client, marketer):
    from django.test import Client

    enforcing = Client(enforce_csrf_checks=True)
    enforcing.force_login(marketer)
    api_urls = [(name, url) for name, url in named_urls() if name.startswith(MACHINE_API)]
    assert len(api_urls) == 10
    for name, url in api_urls:
        if name in ("api:lead", "api:account"):
            response = enforcing.get(url)
        else:
            response = enforcing.post(
                url, {"userId": "u", "event": "Form Submitted"}, content_type="application/json"
            )
        assert response.status_code == 401, name
