"""Forms of the Settings area: each error names its field."""

from django import forms
from django.contrib.auth import password_validation

from leads.models import WriteKey
from leads.workspace.settings_services import ROLE_GROUPS


class WriteKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The source, e.g. “Website” or “Mobile app”.")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if WriteKey.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(f"name: a write key named “{name}” exists already")
        return name


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.URLField(max_length=500, label="URL", assume_scheme="https")
    secret = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.PasswordInput,
        help_text="Signs each post (X-Leadscore-Signature). Leave empty to keep the current one, "
        "or, for a new endpoint, to have one made and shown once.",
    )


class SubscriptionsForm(forms.Form):
    subscribers = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Who gets the daily email"
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscribers"].queryset = candidates
        self.fields["subscribers"].label_from_instance = lambda user: (
            f"{user.get_username()} · {user.email}"
            if user.email
            else f"{user.get_username()} (no email address)"
        )


class UserCreateForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]+\Z", max_length=150, help_text="Letters, digits and @.+-_")
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=[(role, role.capitalize()) for role in ROLE_GROUPS])
    password = forms.CharField(
        widget=forms.PasswordInput, label="Temporary password", help_text="Tell the person; they change it."
    )

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


class FailedJobForm(forms.Form):
    queue = forms.CharField(max_length=50)
    job_id = forms.CharField(max_length=100)
    action = forms.ChoiceField(choices=[("requeue", "Requeue"), ("delete", "Delete")])
