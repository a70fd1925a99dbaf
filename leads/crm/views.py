"""The CRM pages at /leads/crm/: one Sync page per connector, its settings and mapping."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from leads.crm.connectors import CrmUnavailable
from leads.crm.forms import ConnectionForm
from leads.crm.models import CrmConnection
from leads.crm.secrets import SecretUnreadable
from leads.crm.selectors import sync_overview
from leads.crm.services import (
    CrmSettingsError,
    connection_save,
    connector_for,
    crm_push_enqueue,
    push_preview,
)
from leads.roles import marketer_required


@marketer_required
def crm_index(request):
    connected = {c.kind: c for c in CrmConnection.objects.all()}
    return render(
        request, "leads/crm_index.html", {"kinds": CrmConnection.Kind.choices, "connected": connected}
    )


@require_http_methods(["GET", "POST"])
@marketer_required
def crm_sync(request, kind):
    if kind not in CrmConnection.Kind.values:
        raise Http404
    connection = CrmConnection.objects.filter(kind=kind).first()
    mapping = (connection or CrmConnection(kind=kind)).mapping
    form = ConnectionForm(request.POST or None, mapping=mapping, initial=_initial(connection))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection = connection_save(
                kind=kind,
                secret=data["secret"],
                base_url=data["base_url"] or "",
                client_id=data["client_id"],
                score_delta=data["score_delta"],
                calls_per_window=data["calls_per_window"],
                field_mapping=form.field_mapping,
            )
        except CrmSettingsError as error:
            form.add_error(None, str(error))
        else:
            CrmConnection.objects.filter(pk=connection.pk).update(is_active=data["is_active"])
            messages.success(request, f"{connection} settings saved.")
            return redirect("leads:crm_sync", kind=kind)
    context = {"kind": kind, "label": CrmConnection.Kind(kind).label, "form": form, "connection": connection}
    if connection:
        context.update(sync_overview(connection=connection), preview=push_preview(connection=connection))
    return render(request, "leads/crm_sync.html", context)


@require_POST
@marketer_required
def crm_properties_create(request, kind):
    connection = CrmConnection.objects.filter(kind=CrmConnection.Kind.HUBSPOT).first()
    if kind != CrmConnection.Kind.HUBSPOT or connection is None:
        raise Http404
    try:
        existing = connector_for(connection).properties_create(connection.mapping)
    except (CrmUnavailable, SecretUnreadable) as error:
        messages.error(request, str(error))
    else:
        note = f" ({', '.join(existing)} existed already)" if existing else ""
        messages.success(request, f"Leadscore properties created on HubSpot contacts{note}.")
    return redirect("leads:crm_sync", kind=kind)


@require_POST
@marketer_required
def crm_push_now(request, kind):
    connection = CrmConnection.objects.filter(kind=kind).first()
    if connection is None:
        raise Http404
    queued = crm_push_enqueue(connection=connection)
    if queued.already:
        messages.info(request, f"A push to {connection} is already queued; it starts when a worker is free.")
    elif queued.waiting_for_redis:
        messages.warning(
            request,
            f"Push to {connection} queued. The job queue (Redis) is not answering, so it starts when "
            "the workers are back; nothing is lost.",
        )
    else:
        messages.success(request, f"Push to {connection} queued; it starts when a worker is free.")
    return redirect("leads:crm_sync", kind=kind)


def _initial(connection):
    if connection is None:
        return {}
    return {
        "base_url": connection.base_url,
        "client_id": connection.client_id,
        "score_delta": connection.score_delta,
        "calls_per_window": connection.calls_per_window,
        "is_active": connection.is_active,
    }
