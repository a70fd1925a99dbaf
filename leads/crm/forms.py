import re

from django import forms

from leads.crm.models import DEFAULT_FIELD_MAPPING
from leads.crm.selectors import has_likelihood

PROPERTY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
MAPPED_LABELS = {
    "score": "Score",
    "stage": "Stage",
    "account_score": "Account score",
    "likelihood": "Likelihood",
    "why": "Why (top three contributions)",
    "updated_at": "Updated at",
}


class ConnectionForm(forms.Form):
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="HubSpot private-app token, Salesforce session id or client secret. "
        "Leave empty to keep the stored one; it is never shown again.",
    )
    base_url = forms.URLField(
        assume_scheme="https",
        required=False,
        max_length=300,
        label="Base URL",
        help_text="HubSpot API host or Salesforce instance URL.",
    )
    client_id = forms.CharField(required=False, max_length=300, label="Salesforce client id")
    score_delta = forms.FloatField(min_value=0, initial=1, label="Smallest score change pushed (points)")
    calls_per_window = forms.IntegerField(
        min_value=1, max_value=1000, initial=100, label="Calls per 10 seconds"
    )
    is_active = forms.BooleanField(
        required=False, initial=True, label="Push every minute and pull closed deals"
    )

    def __init__(self, *args, mapping: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for key in DEFAULT_FIELD_MAPPING:
            if key == "likelihood" and not has_likelihood():
                continue
            self.fields[f"map_{key}"] = forms.CharField(
                required=False,
                max_length=100,
                initial=mapping.get(key, ""),
                label=f"{MAPPED_LABELS[key]} → CRM property",
                help_text="Empty: not written.",
            )

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if name.startswith("map_") and value and not PROPERTY_NAME.match(value):
                self.add_error(name, "Letters, digits and underscores only, starting with a letter.")
        return cleaned

    @property
    def field_mapping(self) -> dict[str, str]:
        return {name[4:]: value for name, value in self.cleaned_data.items() if name.startswith("map_")}
