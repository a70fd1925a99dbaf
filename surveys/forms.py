from django import forms

from leads.models import Lead, Segment
from leads.workspace.filters import FilterError, segment_members
from surveys.models import Survey
from surveys.nps import parse_score

MAX_CHOSEN_LEADS = 5000


class SurveyForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = [
            "name",
            "question",
            "follow_up_question",
            "thank_you_text",
            "language",
            "expiry_days",
            "throttle_days",
            "public_link_enabled",
        ]
        widgets = {"thank_you_text": forms.Textarea(attrs={"rows": 2})}

    def clean_expiry_days(self):
        days = self.cleaned_data["expiry_days"]
        if days < 1:
            raise forms.ValidationError("A link must stay valid for at least one day.")
        return days


class SendForm(forms.Form):
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.order_by("name"), required=False, empty_label="— choose a segment —"
    )
    emails = forms.CharField(
        required=False,
        label="Or chosen leads (one email per line)",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "ana@example.com"}),
    )

    def clean_emails(self):
        raw = self.cleaned_data["emails"]
        emails = sorted(
            {part.strip().lower() for part in raw.replace(",", "\n").splitlines() if part.strip()}
        )
        if len(emails) > MAX_CHOSEN_LEADS:
            raise forms.ValidationError(f"At most {MAX_CHOSEN_LEADS} emails at once; use a segment for more.")
        known = set(Lead.objects.filter(email__in=emails).values_list("email", flat=True))
        unknown = [email for email in emails if email not in known]
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise forms.ValidationError(f"No lead has the email {shown}.")
        return emails

    def clean_segment(self):
        segment = self.cleaned_data.get("segment")
        if segment is not None:
            try:
                segment_members(segment)
            except FilterError as error:
                raise forms.ValidationError(
                    f"the saved filter of “{segment.name}” is invalid ({error})."
                ) from None
        return segment

    def clean(self):
        data = super().clean()
        if not self.errors and bool(data.get("segment")) == bool(data.get("emails")):
            raise forms.ValidationError("Choose a segment or list lead emails (one of the two).")
        return data

    def leads(self):
        if self.cleaned_data.get("segment"):
            return segment_members(self.cleaned_data["segment"])
        return Lead.objects.filter(email__in=self.cleaned_data["emails"])


class AnswerForm(forms.Form):
    """The public answer. `website` is a honeypot: hidden from people, filled in by bots."""

    score = forms.CharField(required=False)
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    website = forms.CharField(required=False)

    def clean_score(self):
        try:
            return parse_score(self.cleaned_data.get("score"))
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    @property
    def is_bot(self) -> bool:
        return bool((self.data.get("website") or "").strip())
