"""The Settings area (/leads/settings/): what marketers used to be sent to Django admin for.
Every section is one entry of SECTIONS; the index and the role checks read it."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leads.ingest import credentials
from leads.models import WebhookEndpoint, WriteKey
from leads.roles import marketer_required, role_of
from leads.workspace import settings_selectors as selectors
from leads.workspace import settings_services as services
from leads.workspace.settings_forms import (
    FailedJobForm,
    SubscriptionsForm,
    UserCreateForm,
    WebhookForm,
    WriteKeyForm,
)

# (title, url name, what it is for, who sees it). One line adds a section.
SECTIONS = (
    (
        "Write keys",
        "leads:settings_write_keys",
        "One key per tracking source; shown once.",
        {"marketer", "admin"},
    ),
    (
        "Webhooks",
        "leads:settings_webhooks",
        "Where qualified leads are posted, and each delivery.",
        {"marketer", "admin"},
    ),
    ("Daily report", "leads:settings_subscriptions", "Who gets the 07:00 email.", {"marketer", "admin"}),
    (
        "Failed jobs",
        "leads:settings_failed_jobs",
        "Background jobs that failed: requeue or delete.",
        {"marketer", "admin"},
    ),
    ("CRM", "leads:crm", "HubSpot and Salesforce sync.", {"marketer", "admin"}),
    ("Users and roles", "leads:settings_users", "Create marketers and reps, deactivate them.", {"admin"}),
)


def _posted(request):
    # An empty POST (every box unticked) is still a submission, unlike `request.POST or None`.
    return request.POST if request.method == "POST" else None


def admin_required(view):
    @wraps(view)
    @marketer_required
    def wrapper(request, *args, **kwargs):
        if role_of(request.user) != "admin":
            raise PermissionDenied("Users and roles are for admins.")
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@marketer_required
def settings_index(request):
    role = role_of(request.user)
    sections = [(title, name, about) for title, name, about, audience in SECTIONS if role in audience]
    return render(request, "leads/settings/index.html", {"sections": sections})


@require_http_methods(["GET", "POST"])
@marketer_required
def write_keys(request):
    form, secret = WriteKeyForm(_posted(request)), None
    if request.method == "POST" and form.is_valid():
        try:
            key, secret = credentials.write_key_create(name=form.cleaned_data["name"], by=request.user)
        except ValueError as error:
            form.add_error("name", str(error))
        else:
            messages.success(request, f"Write key “{key.name}” created. Copy it now: it is not shown again.")
            form = WriteKeyForm()
    context = {"form": form, "secret": secret, "keys": WriteKey.objects.select_related("created_by")}
    return render(request, "leads/settings/write_keys.html", context, status=400 if form.errors else 200)


@require_POST
@marketer_required
def write_key_disable(request, pk):
    key = services.write_key_disable(key=get_object_or_404(WriteKey, pk=pk))
    messages.success(request, f"Write key “{key.name}” disabled: events sent with it are refused.")
    return redirect("leads:settings_write_keys")


@require_http_methods(["GET", "POST"])
@marketer_required
def webhooks(request):
    return _webhook_page(request, None)


@require_http_methods(["GET", "POST"])
@marketer_required
def webhook_edit(request, pk):
    return _webhook_page(request, get_object_or_404(WebhookEndpoint, pk=pk))


def _webhook_page(request, endpoint):
    initial = {"name": endpoint.name, "url": endpoint.url} if endpoint else None
    form, secret = WebhookForm(_posted(request), initial=initial), ""
    if request.method == "POST" and form.is_valid():
        endpoint, secret = services.webhook_endpoint_save(endpoint=endpoint, **form.cleaned_data)
        messages.success(request, f"Webhook “{endpoint.name}” saved.")
        if not secret:
            return redirect("leads:settings_webhook", endpoint.pk)
    context = {
        "form": form,
        "secret": secret,
        "endpoint": endpoint,
        "endpoints": WebhookEndpoint.objects.all(),
        "deliveries": selectors.recent_deliveries(endpoint) if endpoint else [],
    }
    return render(request, "leads/settings/webhooks.html", context, status=400 if form.errors else 200)


@require_POST
@marketer_required
def webhook_toggle(request, pk):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    services.webhook_endpoint_set_active(endpoint=endpoint, is_active=not endpoint.is_active)
    messages.success(request, f"Webhook “{endpoint.name}” {'enabled' if endpoint.is_active else 'disabled'}.")
    return redirect("leads:settings_webhooks")


@require_http_methods(["GET", "POST"])
@marketer_required
def subscriptions(request):
    candidates = selectors.report_candidates()
    initial = {"subscribers": list(selectors.report_subscribers())}
    form = SubscriptionsForm(_posted(request), initial=initial, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        services.report_subscribers_set(users=form.cleaned_data["subscribers"])
        messages.success(request, f"Daily report: {len(form.cleaned_data['subscribers'])} subscribed.")
        return redirect("leads:settings_subscriptions")
    return render(
        request, "leads/settings/subscriptions.html", {"form": form}, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
@admin_required
def users(request):
    form = UserCreateForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(**form.cleaned_data)
        except services.SettingsError as error:
            field, _, _ = str(error).partition(":")
            form.add_error(field if field in form.fields else None, str(error))
        else:
            messages.success(request, f"User {user.get_username()} created as {form.cleaned_data['role']}.")
            return redirect("leads:settings_users")
    people = get_user_model().objects.prefetch_related("groups").order_by("-is_active", "username")
    context = {"form": form, "people": people}
    return render(request, "leads/settings/users.html", context, status=400 if form.errors else 200)


@require_POST
@admin_required
def user_deactivate(request, pk):
    user = get_object_or_404(get_user_model(), pk=pk)
    try:
        services.user_deactivate(user=user, by=request.user)
    except services.SettingsError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{user.get_username()} can no longer sign in.")
    return redirect("leads:settings_users")


@require_http_methods(["GET", "POST"])
@marketer_required
def failed_jobs(request):
    if request.method == "POST":
        form = FailedJobForm(request.POST)
        if not form.is_valid():
            messages.error(request, "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items()))
            return redirect("leads:settings_failed_jobs")
        act = (
            services.failed_job_requeue
            if form.cleaned_data["action"] == "requeue"
            else services.failed_job_delete
        )
        try:
            act(queue_name=form.cleaned_data["queue"], job_id=form.cleaned_data["job_id"])
        except services.SettingsError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Job {form.cleaned_data['job_id']}: {form.cleaned_data['action']}d.")
        return redirect("leads:settings_failed_jobs")
    return render(request, "leads/settings/failed_jobs.html", {"jobs": selectors.failed_jobs()})
