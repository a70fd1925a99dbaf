"""Forms whose validation is the model file's (§2a): errors name the same fields the
`model_import` command would, so a marketer and a git user read the same message."""

from __future__ import annotations

from django import forms

from leads.models import EventType
from models_review import model_file
from models_review.models import ModelVersion, SalesFeedback

RULE_EVENT_CHOICES = [(value, label) for value, label in EventType.choices if value != "manual"]
DECAY_FORM_FIELDS = {
    "inactivity_days": "inactivity_days",
    "period_days": "period_days",
    "mode": "decay_mode",
    "amount": "decay_amount",
    "floor_fraction": "floor_fraction",
}

FILE_PATH_OF_FIELD = {field: f"decay.{key}" for key, field in DECAY_FORM_FIELDS.items()}


def _as_number(text: str):
    """Form text → number for the model-file checks; anything else is passed through so the
    check reports it as 'must be a number, not ...'."""
    text = (text or "").strip()
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


class ModelFileForm(forms.Form):
    """Runs `model_file.validate` over the form's data and files each error under its field."""

    prefix_in_file = ""
    # Prefixed to every error ("Rule 3 · points: ...") when the form is one row of several.
    row_label = ""

    def model_file_data(self) -> dict:
        raise NotImplementedError

    def field_for(self, path: str) -> str | None:
        return path if path in self.fields else None

    def clean(self):
        cleaned = super().clean()
        try:
            self.valid_file = model_file.validate(self.model_file_data())
        except model_file.ModelFileError as error:
            for message in error.errors:
                path, _, text = message.partition(": ")
                path = path.removeprefix(self.prefix_in_file)
                name = self.field_for(path)
                self.add_error(name, f"{self.row_label}{path}: {text}")
        return cleaned


class RuleForm(ModelFileForm):
    prefix_in_file = "rules[0]."
    event_type = forms.ChoiceField(choices=RULE_EVENT_CHOICES)
    points = forms.CharField(
        max_length=40, required=False, help_text="May be negative, e.g. −10 for the careers page."
    )
    url_pattern = forms.CharField(required=False, max_length=500, help_text="Glob, e.g. */pricing*")
    event_name = forms.CharField(required=False, max_length=200, help_text="For custom events.")
    asset = forms.CharField(required=False, max_length=500, help_text="Asset key (URL or id).")
    asset_flag = forms.ChoiceField(
        required=False, choices=[("", "—"), ("sales_ready", "Sales-ready content")]
    )
    product_line = forms.CharField(required=False, max_length=100)
    max_per_day = forms.CharField(required=False, max_length=10, label="Max per day")

    def model_file_data(self) -> dict:
        data = self.cleaned_data
        rule = {
            "event_type": data.get("event_type") or self.data.get("event_type", ""),
            "points": _as_number(data.get("points", "")),
        }
        for key in ("url_pattern", "event_name", "asset", "asset_flag", "product_line"):
            if data.get(key):
                rule[key] = data[key].strip()
        if data.get("max_per_day"):
            rule["max_per_day"] = _as_number(data["max_per_day"])
        return {"model": "draft", "rules": [rule]}

    def rule(self) -> dict:
        return self.valid_file["rules"][0]

    @staticmethod
    def initial_for(rule) -> dict:
        return {
            "event_type": rule.event_type,
            "points": f"{rule.points:g}",
            "url_pattern": rule.url_pattern,
            "event_name": rule.event_name,
            "asset": rule.asset,
            "asset_flag": rule.asset_flag,
            "product_line": rule.product_line,
            "max_per_day": rule.max_per_day or "",
        }


class DraftRuleForm(RuleForm):
    """One row of the draft editor: `rule_id` is empty for a row added in the browser."""

    rule_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, row: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.row = row
        self.row_label = f"Rule {row} · " if row else ""


class BaseRuleFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index):
        # Rows are numbered as the page shows them, so an error names the row a person sees.
        return {"row": None if index is None else index + 1}


RuleFormSet = forms.formset_factory(
    DraftRuleForm, formset=BaseRuleFormSet, extra=0, can_delete=True, max_num=500, absolute_max=500
)


class VersionSettingsForm(ModelFileForm):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        required=False,
        help_text="Why this version differs from the last. Required to publish.",
    )
    sales_ready_score = forms.CharField(max_length=20, required=False, label="Sales-ready score (T)")
    inactivity_days = forms.CharField(
        max_length=20, required=False, label="Decay starts after (days without engagement)"
    )
    period_days = forms.CharField(max_length=20, required=False, label="Then every (days)")
    decay_mode = forms.ChoiceField(choices=ModelVersion.DecayMode.choices, label="Decay mode")
    decay_amount = forms.CharField(max_length=20, required=False, label="Amount per tick")
    floor_fraction = forms.CharField(max_length=20, required=False, label="Floor (fraction of T)")
    cold_after_days = forms.CharField(max_length=20, required=False, label="Cold after (days)")
    stage_mode = forms.ChoiceField(choices=ModelVersion.StageMode.choices)
    account_threshold = forms.CharField(max_length=20, required=False, help_text="Empty means 2 × T.")
    engagement_days = forms.CharField(
        max_length=20, required=False, label="Engaged if points earned within (days)", help_text="Default 90."
    )
    account_min_engaged = forms.CharField(
        max_length=10, required=False, label="Engaged members an account needs", help_text="Default 2."
    )
    cited_feedback = forms.ModelMultipleChoiceField(
        queryset=SalesFeedback.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Sales feedback this change answers",
    )

    def __init__(self, *args, feedback_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cited_feedback"].queryset = (
            feedback_choices if feedback_choices is not None else SalesFeedback.objects.none()
        )

    REQUIRED = (
        "sales_ready_score",
        "inactivity_days",
        "period_days",
        "decay_amount",
        "floor_fraction",
        "cold_after_days",
    )

    def clean(self):
        cleaned = super().clean()
        for name in self.REQUIRED:
            if not (self.data.get(self.add_prefix(name)) or "").strip() and name not in self.errors:
                self.add_error(name, f"{FILE_PATH_OF_FIELD.get(name, name)}: is required")
        return cleaned

    def field_for(self, path: str) -> str | None:
        if path.startswith("decay."):
            return DECAY_FORM_FIELDS.get(path.removeprefix("decay."))
        return super().field_for(path)

    def model_file_data(self) -> dict:
        data, raw = self.cleaned_data, self.data
        value = lambda name: data.get(name, raw.get(self.add_prefix(name), ""))  # noqa: E731
        return {
            "model": "draft",
            "note": data.get("note", ""),
            "sales_ready_score": _as_number(value("sales_ready_score")),
            "decay": {
                "inactivity_days": _as_number(value("inactivity_days")),
                "period_days": _as_number(value("period_days")),
                "mode": value("decay_mode"),
                "amount": _as_number(value("decay_amount")),
                "floor_fraction": _as_number(value("floor_fraction")),
            },
            "cold_after_days": _as_number(value("cold_after_days")),
            "stage_mode": value("stage_mode"),
            "account_threshold": _as_number(value("account_threshold")),
            "engagement_days": _as_number(value("engagement_days")),
            "account_min_engaged": _as_number(value("account_min_engaged")),
        }

    def settings(self) -> dict:
        clean = self.valid_file
        decay = clean["decay"]
        return {
            "sales_ready_score": clean["sales_ready_score"],
            "inactivity_days": decay["inactivity_days"],
            "period_days": decay["period_days"],
            "decay_mode": decay["mode"],
            "decay_amount": decay["amount"],
            "floor_fraction": decay["floor_fraction"],
            "cold_after_days": clean["cold_after_days"],
            "stage_mode": clean["stage_mode"],
            "account_threshold": clean["account_threshold"],
            "engagement_days": clean["engagement_days"],
            "account_min_engaged": clean["account_min_engaged"],
        }

    @classmethod
    def initial_for(cls, version: ModelVersion) -> dict:
        fmt = lambda v: "" if v is None else f"{v:g}"  # noqa: E731
        return {
            "note": version.note,
            "sales_ready_score": fmt(version.sales_ready_score),
            "inactivity_days": fmt(version.inactivity_days),
            "period_days": fmt(version.period_days),
            "decay_mode": version.decay_mode,
            "decay_amount": fmt(version.decay_amount),
            "floor_fraction": fmt(version.floor_fraction),
            "cold_after_days": fmt(version.cold_after_days),
            "stage_mode": version.stage_mode,
            "account_threshold": fmt(version.account_threshold),
            "engagement_days": fmt(version.engagement_days),
            "account_min_engaged": fmt(version.account_min_engaged),
            "cited_feedback": list(version.citations.values_list("feedback_id", flat=True)),
        }


class DraftEditor:
    """The whole draft in one form: its settings, change note, citations and every rule row,
    validated together and saved together (services.draft_save)."""

    rules_prefix = "rules"

    def __init__(self, data=None, *, version: ModelVersion, feedback_choices):
        if data is None:
            self.settings_form = VersionSettingsForm(
                initial=VersionSettingsForm.initial_for(version), feedback_choices=feedback_choices
            )
            self.rules = RuleFormSet(
                initial=[{**RuleForm.initial_for(rule), "rule_id": rule.pk} for rule in version.rules.all()],
                prefix=self.rules_prefix,
            )
        else:
            self.settings_form = VersionSettingsForm(data, feedback_choices=feedback_choices)
            self.rules = RuleFormSet(data, prefix=self.rules_prefix)

    def is_valid(self) -> bool:
        settings_ok = self.settings_form.is_valid()
        return self.rules.is_valid() and settings_ok

    def kept_rule_forms(self):
        # An added row left blank has no cleaned data and is skipped, like a removed one.
        return [
            form for form in self.rules.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def changes(self) -> dict:
        form = self.settings_form
        return {
            "note": form.cleaned_data["note"],
            "settings": form.settings(),
            "cited_feedback_ids": [f.pk for f in form.cleaned_data["cited_feedback"]],
            "rules": [
                {**rule_form.rule(), "id": rule_form.cleaned_data.get("rule_id")}
                for rule_form in self.kept_rule_forms()
            ],
        }


class FeedbackForm(forms.Form):
    """Every field optional: a one-click verdict posts only `really_sales_ready`."""

    really_sales_ready = forms.TypedChoiceField(
        choices=[("", "—"), ("yes", "Yes"), ("no", "No")],
        required=False,
        label="Really sales-ready?",
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        empty_value=None,
    )
    reason = forms.ChoiceField(choices=[("", "—")] + SalesFeedback.Reason.choices, required=False)
    outcome = forms.ChoiceField(choices=[("", "—")] + SalesFeedback.Outcome.choices, required=False)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000)
    good_actions_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=5000,
        label="Actions you see in good leads",
    )

    def changes(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name in self.data}


class MyLeadsFilterForm(forms.Form):
    awaiting = forms.BooleanField(required=False, label="Awaiting my feedback")


class FeedbackFilterForm(forms.Form):
    version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.all(), required=False, empty_label="All versions"
    )
    rep = forms.ModelChoiceField(queryset=None, required=False, empty_label="All reps")
    reason = forms.ChoiceField(choices=[("", "All reasons")] + SalesFeedback.Reason.choices, required=False)

    def __init__(self, *args, **kwargs):
        from django.contrib.auth import get_user_model

        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = get_user_model().objects.filter(sales_feedback__isnull=False).distinct()


REVIEW_QUESTIONS = (
    ("opportunity_ratio_ok", "Is the sales-ready → opportunity ratio acceptable?"),
    ("won_ratio_ok", "Is the sales-ready → won ratio acceptable?"),
    ("reps_agree", "Do reps mostly agree the sales-ready leads were really sales-ready?"),
    ("actions_reviewed", "Were the actions common in good vs bad leads reflected in the rules?"),
    ("calibration_reviewed", "Was the points-per-interaction suggestion considered?"),
)


class ReviewForm(forms.Form):
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, question in REVIEW_QUESTIONS:
            self.fields[name] = forms.ChoiceField(
                label=question,
                choices=[("yes", "Yes"), ("no", "No — change the model")],
                widget=forms.RadioSelect,
            )

    def answers(self) -> dict:
        return {name: self.cleaned_data[name] for name, _ in REVIEW_QUESTIONS}
