"""Input forms of the marketer workspace. Errors name the field."""

from datetime import timedelta

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from leads.models import Segment
from leads.workspace.filters import EARLIEST_DATE, LATEST_DATE, FilterError, segment_members
from leads.workspace.selectors import DASHBOARD_DEFAULT_DAYS, DateRange

MAX_RANGE_DAYS = 731


def _date_field():
    return forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[
            MinValueValidator(EARLIEST_DATE, f"must be on or after {EARLIEST_DATE}."),
            MaxValueValidator(LATEST_DATE, f"must be on or before {LATEST_DATE}."),
        ],
    )


def clean_usable_segment(segment):
    """A segment whose saved filter no longer loads is named as the error, never a 500."""
    if segment is not None:
        try:
            segment_members(segment)
        except FilterError as error:
            raise forms.ValidationError(
                f"the saved filter of “{segment.name}” is invalid ({error})."
            ) from None
    return segment


class DashboardFilterForm(forms.Form):
    since = _date_field()
    until = _date_field()
    segment = forms.ModelChoiceField(queryset=Segment.objects.all(), required=False, empty_label="All leads")

    def clean_segment(self):
        return clean_usable_segment(self.cleaned_data.get("segment"))

    def clean(self):
        data = super().clean()
        today = timezone.now().date()
        until = data.get("until") or today
        since = data.get("since") or max(EARLIEST_DATE, until - timedelta(days=DASHBOARD_DEFAULT_DAYS - 1))
        if since > until:
            self.add_error("since", "must be on or before the end date.")
        elif (until - since).days >= MAX_RANGE_DAYS:
            self.add_error("since", f"the range can cover at most {MAX_RANGE_DAYS} days.")
        data["period"] = DateRange(since, until)
        return data


class AdjustForm(forms.Form):
    points = forms.FloatField(
        min_value=-1000,
        max_value=1000,
        error_messages={"invalid": "Enter a number of points, e.g. 10 or -5."},
    )
    reason = forms.CharField(max_length=200, error_messages={"required": "Say why the score is adjusted."})

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError("An adjustment of 0 points changes nothing.")
        return points


BULK_MAX_LEADS = 500


class LeadIdsField(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value or []
        if not all(str(v).isascii() and str(v).isdigit() and len(str(v)) < 19 for v in values):
            raise forms.ValidationError("must be lead numbers")
        ids = sorted({int(v) for v in values})
        if not ids:
            raise forms.ValidationError("tick at least one lead")
        if len(ids) > BULK_MAX_LEADS:
            raise forms.ValidationError(f"at most {BULK_MAX_LEADS} leads at once")
        return ids


class BulkActionForm(forms.Form):
    ACTIONS = (
        ("assign", "Assign owner"),
        ("tag_add", "Add tag"),
        ("tag_remove", "Remove tag"),
        ("list_add", "Add to a static list"),
    )
    lead = LeadIdsField(label="leads")
    action = forms.ChoiceField(choices=ACTIONS)
    owner = forms.ModelChoiceField(queryset=None, required=False)
    name = forms.CharField(max_length=60, required=False, label="tag or list name")
    back = forms.CharField(max_length=2000, required=False)

    def __init__(self, *args, **kwargs):
        from django.contrib.auth import get_user_model

        from leads.roles import SALES_REPS

        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(groups__name=SALES_REPS)

    def clean(self):
        data = super().clean()
        if data.get("action") == "assign" and not data.get("owner"):
            self.add_error("owner", "choose the rep to assign the leads to")
        if (
            data.get("action") in ("tag_add", "tag_remove", "list_add")
            and not (data.get("name") or "").strip()
        ):
            self.add_error("name", "type the tag or list name")
        return data


class DisqualifyForm(forms.Form):
    reason = forms.CharField(
        max_length=200, error_messages={"required": "Say why the lead is disqualified."}, strip=True
    )


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=300, required=False)


class SegmentEditForm(SegmentForm):
    order = forms.ChoiceField(choices=Segment.Order.choices)
    filters = forms.CharField(
        max_length=2000,
        required=False,
        label="Filter",
        help_text="Lead-list parameters as in the lead list's address, e.g. stage=4&tag=vip&score_min=50.",
    )

    @classmethod
    def for_segment(cls, segment, query: str):
        initial = {"name": segment.name, "description": segment.description, "order": segment.order}
        return cls(initial={**initial, "filters": query})


def first_error(form) -> str:
    for field, errors in form.errors.items():
        label = "" if field == "__all__" else f"{field}: "
        return f"{label}{errors[0]}"
    return ""


class BuyingRolesForm(forms.Form):
    """One text field per buying role: the comma-separated title keywords."""

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.roles = list(roles)
        for role in self.roles:
            self.fields[f"role-{role.pk}"] = forms.CharField(
                label=role.name,
                required=False,
                max_length=2000,
                initial=role.keywords,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def keywords(self) -> dict[int, str]:
        return {role.pk: self.cleaned_data[f"role-{role.pk}"] for role in self.roles}
