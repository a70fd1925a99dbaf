"""Input forms of the marketer workspace. Errors name the field."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from leads.models import Segment
from leads.workspace.selectors import DASHBOARD_DEFAULT_DAYS, DateRange

MAX_RANGE_DAYS = 731


class DashboardFilterForm(forms.Form):
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    segment = forms.ModelChoiceField(queryset=Segment.objects.all(), required=False, empty_label="All leads")

    def clean(self):
        data = super().clean()
        today = timezone.now().date()
        until = data.get("until") or today
        since = data.get("since") or until - timedelta(days=DASHBOARD_DEFAULT_DAYS - 1)
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


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=300, required=False)


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
