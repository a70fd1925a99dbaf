"""The workspace pages: home, lead page, stage dashboard, lead list, accounts, segments, tally report."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leads.engine import scoring
from leads.ingest.events import lead_adjust as lead_adjust_service
from leads.models import Account, BuyingRole, Lead, ProductLine, Segment, Stage, Tag
from leads.roles import SALES_REPS, is_marketer, marketer_required, visible_accounts, visible_leads
from leads.services import (
    BuyingRoleError,
    LeadActionError,
    buying_roles_update,
    lead_disqualify,
    leads_owner_assign,
)
from leads.workspace import selectors
from leads.workspace.filters import FilterError, filtered_leads, parse_filters, segment_members
from leads.workspace.forms import (
    AdjustForm,
    BulkActionForm,
    BuyingRolesForm,
    DashboardFilterForm,
    DisqualifyForm,
    SegmentEditForm,
    SegmentForm,
    first_error,
)
from leads.workspace.segments import (
    SegmentError,
    describe_filters,
    leads_list_add,
    segment_create,
    segment_csv_rows,
    segment_delete,
    segment_update,
    segments_ensure_built_in,
)
from leads.workspace.tags import TagError, lead_tag_add, lead_tag_remove, leads_tag_add, leads_tag_remove
from scoring_site.htmx import htmx_partial

PAGE_SIZE = 50
MAX_PAGE = 2000  # deep OFFSETs are slow at a million leads; narrow the filter instead
ACCOUNT_SELECT_LIMIT = 300


@login_required
def home(request):
    leads = visible_leads(request.user, Lead.objects.all())
    return render(
        request,
        "leads/home.html",
        {
            "stage_counts": selectors.stage_counts(leads=leads),
            "lead_total": leads.count(),
            "top_leads": selectors.top_leads(user=request.user),
            "recent_events": selectors.recent_events(user=request.user),
        },
    )


@login_required
def lead_detail(request, pk):
    lead = get_object_or_404(
        visible_leads(request.user, Lead.objects.select_related("account", "owner")), pk=pk
    )
    contributions, replayed_score = selectors.lead_contribution_summary(lead=lead)
    score_now = selectors.lead_score_now(lead=lead)
    return render(
        request,
        "leads/lead_detail.html",
        {
            "lead": lead,
            "score_now": score_now,
            # The stored score and a replay agree (§3); if a recalculation is still running they may not.
            "score_pending": not scoring.is_close(score_now, replayed_score, 1e-4),
            "contributions": contributions,
            "contribution_total": contributions.total,
            "product_scores": lead.product_scores.select_related("product_line").order_by("-score"),
            "stage_changes": lead.stage_changes.order_by("-at", "-id")[:50],
            "tallies": selectors.lead_tallies(lead=lead),
            "adjust_form": AdjustForm(),
        },
    )


@marketer_required
@require_GET
def dashboard(request):
    form = DashboardFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "leads/dashboard.html", {"form": form, "error": first_error(form)}, status=400)
    data = form.cleaned_data
    board = selectors.stage_dashboard(period=data["period"], segment=data.get("segment"))
    _, recalculating = selectors.figures_state()
    return render(
        request,
        "leads/dashboard.html",
        {
            "form": form,
            "board": board,
            "recalculating": recalculating,
            "segment": data.get("segment"),
            "chart_query": request.GET.urlencode(),
            "stage_list_query": _stage_list_query(data.get("segment")),
        },
    )


def _stage_list_query(segment) -> str:
    """The lead-list filter behind a stage card: the segment's filter, its stage set to the card's."""
    if segment is None:
        return ""
    params = QueryDict(_segment_query(segment, with_order=False), mutable=True)
    params.pop("stage", None)
    return params.urlencode()


@login_required
@require_GET
def lead_list(request):
    try:
        lead_filter = parse_filters(request.GET)
        page = _page_number(request.GET.get("page"))
    except FilterError as error:
        return _lead_list_response(request, {"error": error}, status=400)
    leads = filtered_leads(
        lead_filter, visible_leads(request.user, Lead.objects.select_related("account", "owner"))
    )
    if request.GET.get("format") == "csv":
        return _csv_response(leads, f"leads-{timezone.now():%Y%m%d}.csv")
    total, more = selectors.capped_count(leads)
    rows = list(leads[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    return _lead_list_response(
        request,
        {
            "lead_filter": lead_filter,
            "leads": rows[:PAGE_SIZE],
            "total": total,
            "total_is_capped": more,
            "page": page,
            "has_next": len(rows) > PAGE_SIZE and page < MAX_PAGE,
            **_row_span(page, rows, total),
            "query": _without(request.GET, "page"),
            "sort_query": _without(request.GET, "page", "sort", "format"),
            "sortable": True,
            "bulk": is_marketer(request.user),
        },
    )


def _csv_response(leads, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(segment_csv_rows(leads), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _lead_list_response(request, context, status=200):
    if htmx_partial(request):
        return render(request, "leads/_lead_table.html", context, status=status)
    context.update(_lead_list_choices(request.user))
    context.setdefault("lead_filter", None)
    context["params"] = request.GET
    return render(request, "leads/lead_list.html", context, status=status)


def _lead_list_choices(user):
    # Unordered LIMIT first: sorting every account by name just to learn there are too many is waste.
    accounts = sorted(
        Account.objects.values_list("id", "name")[: ACCOUNT_SELECT_LIMIT + 1], key=lambda row: row[1]
    )
    return {
        "stages": Stage.choices,
        "product_lines": ProductLine.objects.values_list("name", flat=True),
        "tags": Tag.objects.values_list("name", flat=True)[:200],
        "owners": get_user_model()
        .objects.filter(groups__name=SALES_REPS)
        .order_by("username")
        .values_list("id", "username"),
        "accounts": accounts if len(accounts) <= ACCOUNT_SELECT_LIMIT else None,
        "nps_groups": ("promoter", "passive", "detractor"),
        "bulk_actions": BulkActionForm.ACTIONS,
    }


def _row_span(page: int, rows: list, total: int) -> dict:
    first = (page - 1) * PAGE_SIZE + 1
    # Past the end there is no row to show: the page says so and names the last page.
    return {
        "first_row": first,
        "last_row": first + min(len(rows), PAGE_SIZE) - 1,
        "past_end": not rows and page > 1,
        "last_page": max(1, -(-total // PAGE_SIZE)),
    }


def _page_number(raw) -> int:
    if raw in (None, ""):
        return 1
    if not (str(raw).isascii() and str(raw).isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise FilterError("page", f"must be a page number from 1 to {MAX_PAGE}")
    return int(raw)


def _without(params: QueryDict, *keys) -> str:
    kept = params.copy()
    for key in keys:
        kept.pop(key, None)
    return kept.urlencode()


@login_required
@require_GET
def accounts(request):
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]  # PostgreSQL refuses NUL in text
    try:
        page = _page_number(request.GET.get("page"))
    except FilterError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    rows = visible_accounts(request.user, Account.objects.all()).order_by("-score", "id")
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(domain__icontains=query))
    total, more = selectors.capped_count(rows)
    page_rows = list(rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    return render(
        request,
        "leads/accounts.html",
        {
            "accounts": page_rows[:PAGE_SIZE],
            "q": query,
            "page": page,
            "has_next": len(page_rows) > PAGE_SIZE,
            "total": total,
            "total_is_capped": more,
            "spec": selectors.spec_for(selectors.active_version()),
        },
    )


@marketer_required
@require_http_methods(["GET", "POST"])
def buying_roles(request):
    roles = BuyingRole.objects.order_by("position", "id")
    form = BuyingRolesForm(request.POST or None, roles=roles)
    if request.method == "POST" and form.is_valid():
        try:
            buying_roles_update(keywords=form.keywords())
        except BuyingRoleError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Buying-role keywords saved; account pages use them at once.")
            return redirect("leads:buying_roles")
    return render(request, "leads/buying_roles.html", {"form": form})


@login_required
@require_GET
def account_detail(request, pk):
    account = get_object_or_404(visible_accounts(request.user, Account.objects.all()), pk=pk)
    return render(
        request,
        "leads/account_detail.html",
        {
            "account": account,
            "why": selectors.account_why(account=account),
            "chart_members": selectors.ACCOUNT_CHART_MEMBERS,
        },
    )


@marketer_required
@require_http_methods(["GET", "POST"])
def segments(request):
    segments_ensure_built_in()
    if request.method == "POST":
        return _segment_save(request, SegmentForm(request.POST))
    rows = [
        (segment, describe_filters(segment.filters), _member_count(segment))
        for segment in Segment.objects.all()
    ]
    return render(request, "leads/segments.html", {"rows": rows})


def _member_count(segment):
    """(count, capped) or the filter error, so one broken segment never hides the others."""
    try:
        return selectors.capped_count(segment_members(segment), cap=1_000_000)
    except FilterError as error:
        return error


def _segment_save(request, form):
    query = request.POST.get("query", "")
    try:
        if not form.is_valid():
            raise SegmentError("name", first_error(form).removeprefix("name: "))
        segment = segment_create(
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            lead_filter=parse_filters(QueryDict(query)),
            by=request.user,
        )
    except (SegmentError, FilterError) as error:
        messages.error(request, f"Segment not saved — {error}")
        return redirect(f"{reverse('leads:list')}?{_without(QueryDict(query), 'page')}")
    messages.success(request, f"Segment “{segment.name}” saved.")
    return redirect("leads:segment", pk=segment.pk)


@marketer_required
@require_GET
def segment_detail(request, pk):
    segment = get_object_or_404(Segment, pk=pk)
    try:
        page = _page_number(request.GET.get("page"))
        members = segment_members(segment).select_related("account", "owner")
    except FilterError as error:
        return render(request, "leads/segment_detail.html", {"segment": segment, "error": error}, status=400)
    total, more = selectors.capped_count(members, cap=1_000_000)
    rows = list(members[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    template = "leads/_lead_table.html" if htmx_partial(request) else "leads/segment_detail.html"
    return render(
        request,
        template,
        {
            "segment": segment,
            "leads": rows[:PAGE_SIZE],
            "total": total,
            "total_is_capped": more,
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
            **_row_span(page, rows, total),
            "query": "",
            "list_query": _segment_query(segment),
        },
    )


@marketer_required
@require_http_methods(["GET", "POST"])
def segment_edit(request, pk):
    segment = get_object_or_404(Segment, pk=pk)
    if request.method == "GET":
        form = SegmentEditForm.for_segment(segment, _segment_query(segment, with_order=False))
        return render(request, "leads/segment_edit.html", {"segment": segment, "form": form})
    form = SegmentEditForm(request.POST)
    error = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            lead_filter = None
            if data["filters"] != _segment_query(segment, with_order=False):
                lead_filter = parse_filters(QueryDict(data["filters"]), allow_extra=("sort",))
            segment_update(
                segment=segment,
                name=data["name"],
                description=data["description"],
                order=data["order"],
                lead_filter=lead_filter,
            )
        except (SegmentError, FilterError) as problem:
            error = problem
        else:
            messages.success(request, f"Segment “{segment.name}” saved.")
            return redirect("leads:segment", pk=segment.pk)
    segment.refresh_from_db()
    context = {"segment": segment, "form": form, "error": error or first_error(form)}
    return render(request, "leads/segment_edit.html", context, status=400)


@marketer_required
@require_POST
def segment_remove(request, pk):
    segment = get_object_or_404(Segment, pk=pk)
    try:
        segment_delete(segment=segment)
    except SegmentError as error:
        messages.error(request, f"Segment not deleted — {error}")
        return redirect("leads:segment", pk=segment.pk)
    messages.success(request, f"Segment “{segment.name}” deleted.")
    return redirect("leads:segments")


def _segment_query(segment, with_order: bool = True) -> str:
    params = QueryDict(mutable=True)
    saved = {**segment.filters, "sort": segment.order} if with_order else dict(segment.filters)
    for key, value in saved.items():
        params.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    return params.urlencode()


@marketer_required
@require_GET
def segment_export(request, pk):
    segment = get_object_or_404(Segment, pk=pk)
    try:
        members = segment_members(segment)
    except FilterError as error:
        return HttpResponse(
            f"This segment's saved filter is invalid — {error}", status=400, content_type="text/plain"
        )
    return _csv_response(members, f"segment-{segment.pk}-{timezone.now():%Y%m%d}.csv")


@marketer_required
@require_GET
def tally_report(request):
    return render(request, "leads/tally_report.html", {"report": selectors.tally_calibration()})


# --- lead page actions ------------------------------------------------------------------


@login_required
@require_POST
def lead_tags(request, pk):
    """Add or remove one tag inline; answers with the tag list fragment."""
    lead = get_object_or_404(visible_leads(request.user, Lead.objects.all()), pk=pk)
    error = ""
    try:
        if request.POST.get("remove"):
            lead_tag_remove(lead=lead, name=request.POST["remove"])
        else:
            lead_tag_add(lead=lead, name=request.POST.get("tag", ""))
    except TagError as exc:
        error = str(exc)
    context = {"lead": lead, "tag_error": error}
    if htmx_partial(request):
        return render(request, "leads/_tags.html", context, status=400 if error else 200)
    if error:
        messages.error(request, error)
    return redirect("leads:detail", pk=lead.pk)


@marketer_required
@require_POST
def lead_adjust(request, pk):
    lead = get_object_or_404(Lead, pk=pk)
    form = AdjustForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Adjustment not saved — {first_error(form)}")
        return redirect("leads:detail", pk=lead.pk)
    points, reason = form.cleaned_data["points"], form.cleaned_data["reason"]
    lead_adjust_service(lead=lead, points=points, reason=reason, by=request.user)
    messages.success(request, f"Score adjusted by {points:+g} points: {reason}")
    return redirect("leads:detail", pk=lead.pk)


@login_required
@require_POST
def lead_disqualify_view(request, pk):
    # visible_leads: a rep may disqualify only a lead they own; marketers any lead.
    lead = get_object_or_404(visible_leads(request.user, Lead.objects.all()), pk=pk)
    form = DisqualifyForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Lead not disqualified — {first_error(form)}")
        return redirect("leads:detail", pk=lead.pk)
    try:
        lead_disqualify(lead=lead, reason=form.cleaned_data["reason"], by=request.user)
    except LeadActionError as error:
        messages.error(request, f"Lead not disqualified — {error}")
    else:
        messages.success(request, f"Disqualified: {form.cleaned_data['reason']}")
    return redirect("leads:detail", pk=lead.pk)


@marketer_required
@require_POST
def lead_bulk(request):
    """One action on the ticked rows of the lead list; back to the same filtered list."""
    form = BulkActionForm(request.POST)
    back = f"{reverse('leads:list')}?{QueryDict(request.POST.get('back', '')).urlencode()}"
    if not form.is_valid():
        messages.error(request, f"Nothing changed — {first_error(form)}")
        return redirect(back)
    data, ids = form.cleaned_data, form.cleaned_data["lead"]
    try:
        messages.success(request, _bulk_apply(data["action"], ids, data, request.user))
    except (LeadActionError, TagError, SegmentError) as error:
        messages.error(request, f"Nothing changed — {error}")
    return redirect(back)


def _bulk_apply(action: str, ids: list[int], data: dict, user) -> str:
    chosen = f"{len(ids)} lead{'s' if len(ids) != 1 else ''} chosen"
    if action == "assign":
        changed = leads_owner_assign(lead_ids=ids, owner=data["owner"])
        return f"{chosen}: {changed} now owned by {data['owner'].get_username()}."
    if action == "tag_add":
        tag, added = leads_tag_add(lead_ids=ids, name=data["name"])
        return f"{chosen}: tag “{tag.name}” added to {added}."
    if action == "tag_remove":
        removed = leads_tag_remove(lead_ids=ids, name=data["name"])
        return f"{chosen}: tag “{data['name'].strip()}” removed from {removed}."
    segment, added = leads_list_add(lead_ids=ids, name=data["name"], by=user)
    return f"{chosen}: {added} added to the static list “{segment.name}”."
