"""Scoring model versions (SPEC §2). A version is immutable once published; exactly
one is active. `ModelVersion.spec()` is the plain-data view the score engine takes."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from leads.engine import scoring
from leads.models import EventType


class PublishedVersionError(Exception):
    pass


class ScoringModel(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self):
        return self.name


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    class DecayMode(models.TextChoices):
        PERCENT = "percent", "Percent per tick"
        POINTS = "points", "Points per tick"

    class StageMode(models.TextChoices):
        SCORE = "score", "From the score (thirds of T)"
        CONTENT = "content", "Advances on content tailored to the next stage"

    scoring_model = models.ForeignKey(ScoringModel, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    is_active = models.BooleanField(default=False)
    note = models.TextField(help_text="Why this version differs from the last.")
    sales_ready_score = models.FloatField(default=100)
    inactivity_days = models.FloatField(default=30)
    period_days = models.FloatField(default=7)
    decay_mode = models.CharField(max_length=10, choices=DecayMode.choices, default=DecayMode.PERCENT)
    decay_amount = models.FloatField(default=10)
    floor_fraction = models.FloatField(default=0.5)
    cold_after_days = models.FloatField(default=30)
    stage_mode = models.CharField(max_length=10, choices=StageMode.choices, default=StageMode.SCORE)
    account_threshold = models.FloatField(
        null=True, blank=True, help_text="Empty means 2 × the sales-ready score."
    )
    engagement_days = models.FloatField(
        default=90, help_text="A member earning points within this many days is engaged (§4)."
    )
    account_min_engaged = models.PositiveIntegerField(
        default=2, help_text="Engaged members an account needs to be sales-ready."
    )
    # Extra lead-filter parameters (leads.workspace.filters) a lead must also meet to qualify (§6).
    qualification_filters = models.JSONField(
        default=dict, blank=True, help_text='Lead filters besides score ≥ T, e.g. {"owner": 3}.'
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scoring_model", "number"]
        constraints = [
            models.UniqueConstraint(fields=["scoring_model", "number"], name="version_number_unique"),
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_version"
            ),
        ]

    def __str__(self):
        return f"{self.scoring_model.name} v{self.number} ({self.get_status_display().lower()})"

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    def save(self, *args, **kwargs):
        # Only the "active" pointer may move between published versions.
        if (
            self.pk
            and type(self).objects.filter(pk=self.pk, status=self.Status.PUBLISHED).exists()
            and set(kwargs.get("update_fields") or ()) != {"is_active"}
        ):
            raise PublishedVersionError(f"Version {self.number} is published and cannot be changed.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_published:
            raise PublishedVersionError(f"Version {self.number} is published and cannot be deleted.")
        return super().delete(*args, **kwargs)

    def spec(self) -> scoring.ModelSpec:
        return scoring.ModelSpec(
            rules=tuple(rule.as_engine_rule() for rule in self.rules.all()),
            sales_ready_score=self.sales_ready_score,
            decay=scoring.DecaySettings(
                inactivity_days=self.inactivity_days,
                period_days=self.period_days,
                mode=self.decay_mode,
                amount=self.decay_amount,
                floor_fraction=self.floor_fraction,
            ),
            stage_mode=self.stage_mode,
            cold_after_days=self.cold_after_days,
            account_threshold=self.account_threshold,
            engagement_days=self.engagement_days,
            account_min_engaged=self.account_min_engaged,
        )


class Rule(models.Model):
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    event_type = models.CharField(max_length=20, choices=EventType.choices)
    points = models.FloatField()
    url_pattern = models.CharField(max_length=500, blank=True, default="")
    event_name = models.CharField(max_length=200, blank=True, default="")
    asset = models.CharField(max_length=500, blank=True, default="", help_text="Asset key (URL or id).")
    asset_flag = models.CharField(
        max_length=20, blank=True, default="", choices=[("", "—"), ("sales_ready", "Sales-ready content")]
    )
    product_line = models.CharField(max_length=100, blank=True, default="")
    max_per_day = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["version", "position", "id"]

    def __str__(self):
        target = self.url_pattern or self.event_name or self.asset or self.asset_flag or self.product_line
        return f"{self.event_type}{' ' + target if target else ''} → {self.points:g}"

    def _guard(self):
        if ModelVersion.objects.filter(pk=self.version_id, status=ModelVersion.Status.PUBLISHED).exists():
            raise PublishedVersionError("Rules of a published version cannot be changed.")

    def save(self, *args, **kwargs):
        self._guard()
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._guard()
        return super().delete(*args, **kwargs)

    def as_engine_rule(self) -> scoring.Rule:
        return scoring.Rule(
            event_type=self.event_type,
            points=self.points,
            url_pattern=self.url_pattern or None,
            event_name=self.event_name or None,
            asset=self.asset or None,
            asset_flag=self.asset_flag or None,
            product_line=self.product_line or None,
            max_per_day=self.max_per_day,
        )


class RecalculationRun(models.Model):
    """Replaying every lead under a newly published version (§7), in id-range chunks.
    `last_lead_id` is the resume point after a crash; `done`/`total` drive the progress bar."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="recalculations")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    last_lead_id = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The instant every lead is settled to: fixed at the first start so a resumed run
    # writes exactly what an uninterrupted one would.
    as_of = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Recalculation for {self.version} ({self.get_status_display().lower()})"

    @property
    def took(self) -> str:
        """How long the finished run took, to the second ("4 s", "2 min 5 s"), never "0 minutes"."""
        if not (self.started_at and self.finished_at):
            return ""
        minutes, seconds = divmod(max(0, round((self.finished_at - self.started_at).total_seconds())), 60)
        return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"

    @property
    def percent(self):
        return (
            100.0
            if self.status == self.Status.DONE
            else (100.0 * self.done / self.total if self.total else 0.0)
        )


class LeadRangeChunk(models.Model):
    """One id range (after_id, last_id] of a run over every lead, done by whichever RQ worker
    takes its job. The last chunk has no upper end, so leads created while the run goes are
    included; a chunk's work and its `done` mark commit together."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"

    number = models.PositiveIntegerField()
    after_id = models.BigIntegerField()
    last_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    leads = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["run", "number"]

    def __str__(self):
        return f"chunk {self.number} of {self.run_id} ({self.status})"


class RecalculationChunk(LeadRangeChunk):
    run = models.ForeignKey(RecalculationRun, on_delete=models.CASCADE, related_name="chunks")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(LeadRangeChunk.Meta):
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="recalc_chunk_unique_number")]


class SalesFeedback(models.Model):
    """A rep's verdict on a lead handed to sales (§7). One row per lead and rep: a rep
    edits only their own. `version` is the version that was active when it was given."""

    class Reason(models.TextChoices):
        GOOD_FIT = "good_fit", "Good fit"
        NOT_DECISION_MAKER = "not_decision_maker", "Not decision maker"
        JOB_SEEKER = "job_seeker", "Job seeker"
        STUDENT = "student", "Student"
        COMPETITOR = "competitor", "Competitor"
        NO_BUDGET = "no_budget", "No budget"
        BAD_TIMING = "bad_timing", "Bad timing"
        OTHER = "other", "Other"

    class Outcome(models.TextChoices):
        OPPORTUNITY = "opportunity", "Opportunity"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="sales_feedback")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sales_feedback")
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    really_sales_ready = models.BooleanField(null=True, blank=True)
    reason = models.CharField(max_length=30, choices=Reason.choices, blank=True, default="")
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True, default="")
    note = models.TextField(blank=True, default="", max_length=5000)
    good_actions_note = models.TextField(
        blank=True, default="", max_length=5000, help_text="Actions the rep sees in good leads."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["lead", "rep"], name="feedback_one_per_lead_and_rep")]
        indexes = [models.Index(fields=["version", "really_sales_ready"], name="feedback_version_idx")]

    def __str__(self):
        return f"Feedback by {self.rep} on {self.lead}"


class VersionCitation(models.Model):
    """Sales feedback a version's change note cites (§2: "links to the sales feedback")."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="citations")
    feedback = models.ForeignKey(SalesFeedback, on_delete=models.CASCADE, related_name="cited_by")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "feedback"], name="citation_unique")]


class PreviewRun(models.Model):
    """A draft replayed over history next to the active version, in a background job."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    draft = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="previews")
    baseline = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    as_of = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def percent(self):
        return (
            100.0
            if self.status == self.Status.DONE
            else (100.0 * self.done / self.total if self.total else 0.0)
        )

    @property
    def finished(self):
        return self.status in {self.Status.DONE, self.Status.FAILED}


class PreviewChunk(LeadRangeChunk):
    """`result` holds the chunk's partial tally until the last chunk merges them into the run."""

    run = models.ForeignKey(PreviewRun, on_delete=models.CASCADE, related_name="chunks")
    result = models.JSONField(default=dict, blank=True)

    class Meta(LeadRangeChunk.Meta):
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="preview_chunk_unique_number")]


class Review(models.Model):
    """A completed periodic model review (§7) with its checklist answers."""

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="reviews")
    due_on = models.DateField()
    completed_at = models.DateTimeField()
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answers = models.JSONField(default=dict, blank=True)
    figures = models.JSONField(
        default=dict, blank=True, help_text="The checklist figures when the review was done."
    )
    notes = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-completed_at", "-id"]


class OutcomeLabel(models.Model):
    """An outcome imported from a CSV (or a CRM): a label for learning (§11) besides the reps'
    feedback in the app. `key` is a digest of the row's content, so re-importing adds nothing."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="outcome_labels")
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    really_sales_ready = models.BooleanField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=SalesFeedback.Outcome.choices, blank=True, default="")
    reason = models.CharField(max_length=30, choices=SalesFeedback.Reason.choices, blank=True, default="")
    at = models.DateTimeField(help_text="When the outcome was known: the features use events before it.")
    source = models.CharField(max_length=100, blank=True, default="")
    key = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["lead", "at"], name="outcome_label_lead_idx")]

    def __str__(self):
        return f"Outcome of {self.lead} at {self.at:%Y-%m-%d}"


class LearningRun(models.Model):
    """One training run of §11: the labels it used, its holdout metrics, the coefficients and
    the suggestion, kept so runs can be compared; then the likelihood of every lead, in chunks."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Learning"
        TOO_FEW_LABELS = "too_few", "Too few labels"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="learning_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Progress of the feature pass over the labelled leads.
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    positives = models.PositiveIntegerField(default=0)
    negatives = models.PositiveIntegerField(default=0)
    as_of = models.DateTimeField(null=True, blank=True)
    # {"holdout": {...}, "rules": [...], "new_rules": [...], "scaling": ...}: see learning.suggestion.
    result = models.JSONField(default=dict, blank=True)
    # The fitted model: per-unit log-odds weights by feature key, and what each feature is.
    intercept = models.FloatField(null=True, blank=True)
    coefficients = models.JSONField(default=dict, blank=True)
    features = models.JSONField(default=list, blank=True)
    draft = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="suggested_by"
    )
    # Likelihood scoring of every lead with this run's model, chunk by chunk.
    likelihood_chunks = models.PositiveIntegerField(default=0)
    likelihood_chunks_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Learning run {self.pk} ({self.get_status_display().lower()})"

    @property
    def finished(self):
        return self.status in {self.Status.DONE, self.Status.TOO_FEW_LABELS, self.Status.FAILED}

    @property
    def percent(self):
        if self.finished:
            return 100.0
        return 100.0 * self.done / self.total if self.total else 0.0
