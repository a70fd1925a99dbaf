"""Records of SPEC §1. Events are immutable and the source of truth; the score columns
on Lead and ProductScore are a cache of `scoring.replay(events, active version)`."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leads.db.fields import AppearedAtField, StoredJSONField
from leads.engine import scoring


class Stage(models.IntegerChoices):
    STAGE_1 = scoring.STAGE_1, "Stage 1"
    STAGE_2 = scoring.STAGE_2, "Stage 2"
    STAGE_3 = scoring.STAGE_3, "Stage 3"
    SALES_READY = scoring.SALES_READY, "Sales-ready (MQL)"
    OPPORTUNITY = scoring.OPPORTUNITY, "Opportunity"
    CUSTOMER = scoring.CUSTOMER, "Customer"
    DISQUALIFIED = scoring.DISQUALIFIED, "Disqualified"


class EventType(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    VIDEO_PLAY = "video_play", "Video play"
    DOWNLOAD = "download", "Download"
    FORM_SUBMIT = "form_submit", "Form submit"
    EMAIL_OPEN = "email_open", "Email open"
    EMAIL_CLICK = "email_click", "Email click"
    APP_LOGIN = "app_login", "App login"
    WEBINAR_ATTEND = "webinar_attend", "Webinar attended"
    CUSTOM = "custom", "Custom"
    NPS_RESPONSE = "nps_response", "NPS response"
    MANUAL = "manual", "Manual adjustment"


class Account(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    group_id = models.CharField(
        max_length=200,
        blank=True,
        default="",
        db_index=True,
        help_text="Segment groupId, when the account came from the tracking API.",
    )
    score = models.FloatField(default=0)
    member_count = models.PositiveIntegerField(default=0)
    engaged_members = models.PositiveIntegerField(default=0)
    is_sales_ready = models.BooleanField(default=False)
    score_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["-score"], name="account_score_idx")]

    def __str__(self):
        return f"{self.name} ({self.domain})"


class ProductLine(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class AssetQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # The in-memory asset catalogue notices changes by updated_at; bulk updates must bump it too.
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)


class Asset(models.Model):
    class Kind(models.TextChoices):
        PAGE = "page", "Web page"
        VIDEO = "video", "Video"
        DOCUMENT = "document", "Document / whitepaper"
        EMAIL = "email", "Email"
        FORM = "form", "Form"
        WEBINAR = "webinar", "Webinar"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=500, help_text="URL for pages, id or name for other assets.")
    url_pattern = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text="Glob such as */pricing* to cover many pages with one asset.",
    )
    name = models.CharField(max_length=200, blank=True, default="")
    sales_ready = models.BooleanField(default=False, help_text="Content that shows buying intent.")
    product_line = models.ForeignKey(ProductLine, null=True, blank=True, on_delete=models.SET_NULL)
    target_stage = models.PositiveSmallIntegerField(
        choices=Stage.choices, null=True, blank=True, help_text="Content tailored to this stage."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "key"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="asset_kind_key_unique")]

    def __str__(self):
        return self.name or self.key


class BuyingRole(models.Model):
    """A buying role (decision maker, influencer, user) recognised from title keywords (§4)."""

    name = models.CharField(max_length=60, unique=True)
    keywords = models.TextField(
        blank=True, default="", help_text="Comma-separated words or phrases found in job titles."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Lead(models.Model):
    email = models.EmailField(max_length=254, null=True, blank=True)
    user_id = models.CharField(max_length=200, null=True, blank=True, help_text="Segment userId.")
    name = models.CharField(max_length=200, blank=True, default="")
    title = models.CharField(max_length=200, blank=True, default="")
    # No single-column indexes on the foreign keys: (owner, -score) and (account, -score) serve
    # those lookups, and every index is one more write per score update (ingest, and decay and
    # recalculation rewriting a million rows; a score change is never a HOT update).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        db_index=False,
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads", db_index=False
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="leads")

    score = models.FloatField(default=0)
    scored_at = models.DateTimeField(null=True, blank=True)
    last_engaged_at = models.DateTimeField(null=True, blank=True)
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, default=Stage.STAGE_1)
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    # Memory of the incremental path between events (video maxima, caps, tallies).
    engine_state = models.JSONField(default=dict, blank=True)
    scored_with = models.ForeignKey(
        "models_review.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
        related_name="+",
    )

    is_cold = models.BooleanField(default=False)
    cold_since = models.DateTimeField(null=True, blank=True)
    is_qualified = models.BooleanField(default=False)
    qualified_at = models.DateTimeField(null=True, blank=True)
    nps_score = models.PositiveSmallIntegerField(null=True, blank=True)
    nps_answered_at = models.DateTimeField(null=True, blank=True)
    # Probability of a positive sales outcome within 90 days and its top three factors (§11),
    # written nightly by the learning job of models_review.
    likelihood = models.FloatField(null=True, blank=True)
    likelihood_factors = models.JSONField(default=list, blank=True)
    likelihood_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The earlier of creation and first event, kept up to date by ingest (indexed): the
    # dashboard counts leads that appeared per day without a first-event lookup per lead.
    # Nullable only so the column could be added to a large table without a rewrite.
    appeared_at = AppearedAtField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=Q(email__isnull=False), name="lead_email_unique"
            ),
            models.UniqueConstraint(
                fields=["user_id"], condition=Q(user_id__isnull=False), name="lead_user_id_unique"
            ),
        ]
        indexes = [
            # With the id, so a page of tied scores (thousands of leads on exactly 40 points)
            # is read in index order instead of every tied lead being fetched and sorted.
            models.Index(fields=["stage", "-score", "id"], name="lead_stage_score_idx"),
            models.Index(fields=["-score", "id"], name="lead_score_idx"),
            # Owned leads and account members only: most leads have neither, and every entry is
            # rewritten when a recalculation writes the lead's row (benchmarks/RESULTS.md).
            models.Index(
                fields=["owner", "-score", "id"],
                condition=Q(owner__isnull=False),
                name="lead_owned_score_idx",
            ),
            models.Index(
                fields=["account", "-score", "id"],
                condition=Q(account__isnull=False),
                name="lead_member_score_idx",
            ),
            models.Index(fields=["last_engaged_at"], name="lead_last_engaged_idx"),
            # The lead list's other sorts (leads.workspace.filters.SORTS),
            # so a page never sorts a million rows.
            models.Index(fields=["name", "id"], name="lead_name_idx"),
            models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
            # "Most likely first" (leads not scored yet last) is an index of migration 0015:
            # PostgreSQL needs NULLS LAST spelled out, which SQLite's CREATE INDEX refuses.
            models.Index(fields=["appeared_at"], name="lead_appeared_idx"),
        ]

    def __str__(self):
        return self.email or self.user_id or f"Lead {self.pk}"

    @property
    def display_name(self):
        return self.name or self.email or self.user_id or f"Lead #{self.pk}"

    @property
    def stage_label(self):
        return Stage(self.stage).label

    @property
    def nps_group(self):
        if self.nps_score is None:
            return None
        return "promoter" if self.nps_score >= 9 else "passive" if self.nps_score >= 7 else "detractor"


class Identity(models.Model):
    """A Segment anonymousId (or aliased id) and the lead it turned out to be."""

    anonymous_id = models.CharField(max_length=200, unique=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="identities")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"

    def __str__(self):
        return self.anonymous_id


class ImmutableEventError(Exception):
    pass


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if set(kwargs) != {"lead"} and set(kwargs) != {"lead_id"}:
            raise ImmutableEventError(
                "Events are immutable; only an anonymous event may be attached to its lead."
            )
        return super().update(**kwargs)


class Event(models.Model):
    """One immutable activity. A database trigger refuses every UPDATE except attaching
    an anonymous event to the lead it turned out to belong to."""

    # Unique through Meta.constraints, not unique=True, which on PostgreSQL also builds a second
    # (LIKE-pattern) index that nothing uses and every insert pays for. Likewise the lead
    # column needs no index of its own beside (lead, occurred_at, id).
    idempotency_key = models.CharField(max_length=200, default=uuid.uuid4)
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    anonymous_id = models.CharField(max_length=200, blank=True, default="")
    type = models.CharField(max_length=20, choices=EventType.choices)
    name = models.CharField(max_length=200, blank=True, default="", help_text="Custom event name as sent.")
    # Resolved against the asset catalogue when scored, so flagging a page later counts on replay.
    asset_key = models.CharField(max_length=500, blank=True, default="")
    url = models.TextField(blank=True, default="")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    campaign = models.CharField(max_length=200, blank=True, default="")
    properties = StoredJSONField(default=dict, blank=True)
    source = models.CharField(max_length=100, blank=True, default="")

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="event_idempotency_key_unique")
        ]
        indexes = [
            models.Index(fields=["lead", "occurred_at", "id"], name="event_lead_time_idx"),
            models.Index(fields=["occurred_at"], name="event_time_idx"),
            models.Index(
                fields=["anonymous_id"], condition=Q(lead__isnull=True), name="event_unattached_idx"
            ),
        ]

    def __str__(self):
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ImmutableEventError("Events are immutable once stored.")
        super().save(*args, **kwargs)
        # Ingest stores batches without save() and moves appeared_at itself; this covers a
        # single event stored on its own (admin, shell, tests), so no write path forgets it.
        if self.lead_id is not None:
            Lead.objects.filter(pk=self.lead_id, appeared_at__gt=self.occurred_at).update(
                appeared_at=self.occurred_at
            )

    def delete(self, *args, **kwargs):
        raise ImmutableEventError("Events are immutable once stored.")

    @property
    def percent(self):
        value = self.properties.get("percent")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def manual_points(self):
        value = self.properties.get("points")
        return float(value) if isinstance(value, (int, float)) else None


class ProductScore(models.Model):
    # Indexed by the (lead, product_line) constraint and (product_line, -score), as Lead's keys are.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="product_scores", db_index=False)
    product_line = models.ForeignKey(
        ProductLine, on_delete=models.CASCADE, related_name="scores", db_index=False
    )
    score = models.FloatField(default=0)
    scored_at = models.DateTimeField(null=True, blank=True)
    last_engaged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "product_line"], name="product_score_unique")]
        indexes = [models.Index(fields=["product_line", "-score"], name="product_score_idx")]


class StageChange(models.Model):
    class Reason(models.TextChoices):
        EVENT = "event", "Event"
        DECAY = "decay", "Decay"
        RECALCULATION = "recalculation", "Recalculation"
        MANUAL = "manual", "Manual"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    to_stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    campaign = models.CharField(max_length=200, blank=True, default="")
    version = models.ForeignKey(
        "models_review.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["lead", "at"], name="stage_change_lead_idx"),
            models.Index(fields=["at", "to_stage"], name="stage_change_at_idx"),
        ]

    def clean(self):
        if self.from_stage == self.to_stage:
            raise ValidationError({"to_stage": "A stage change must change the stage."})


class StageSnapshot(models.Model):
    """Leads per stage at the end of a day (§5): live lists cannot look back."""

    day = models.DateField()
    stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    count = models.PositiveIntegerField()
    taken_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day", "stage"]
        constraints = [models.UniqueConstraint(fields=["day", "stage"], name="stage_snapshot_unique")]


class Segment(models.Model):
    """A saved dynamic filter (§6). `filters` holds the allow-listed lead-list parameters."""

    class Order(models.TextChoices):
        LOWEST_FIRST = "score", "Lowest score first (re-engagement)"
        HIGHEST_FIRST = "-score", "Highest score first (personal outreach)"

    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=300, blank=True, default="")
    filters = models.JSONField(default=dict, blank=True)
    order = models.CharField(max_length=10, choices=Order.choices, default=Order.HIGHEST_FIRST)
    built_in = models.CharField(
        max_length=40,
        blank=True,
        default="",
        help_text="Key of a segment the product maintains (e.g. cold-nurture).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class WriteKey(models.Model):
    """One tracking source (website, app, CRM sync). Only a SHA-256 of the key is stored:
    the key is shown once when created, like a password."""

    name = models.CharField(
        max_length=100, unique=True, help_text="The source, e.g. “Website” or “Mobile app”."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(
        max_length=12, editable=False, help_text="First characters, to tell keys apart."
    )
    is_active = models.BooleanField(default=True, help_text="Untick to refuse events sent with this key.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ApiToken(models.Model):
    """A marketer's Bearer token for the read API. Stored as a SHA-256, shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(
        max_length=100, blank=True, default="", help_text="What uses it, e.g. “CRM sync”."
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.token_prefix}… ({self.user})"


class CsvImport(models.Model):
    """One uploaded CSV: previewed first, imported on confirmation; the report stays."""

    class Kind(models.TextChoices):
        LEADS = "leads", "Leads"
        ACCOUNTS = "accounts", "Accounts"
        EVENTS = "events", "Events"
        OUTCOMES = "outcomes", "Outcomes (sales labels)"

    class Status(models.TextChoices):
        CHECKING = "checking", "Checking"
        PREVIEWED = "previewed", "Previewed"
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    file_name = models.CharField(max_length=255)
    content = models.TextField(help_text="The decoded file, kept until it is imported.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PREVIEWED)
    total_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    duplicate_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{line, field, reason}]")
    valid_rows = models.PositiveIntegerField(default=0)
    preview = models.JSONField(
        default=dict, blank=True, help_text="{header, rows: [[line, values]], ignored_columns}"
    )
    progress_rows = models.PositiveIntegerField(
        default=0, help_text="Rows checked or imported so far by the background job."
    )
    failure = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    @property
    def in_background(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING)

    @property
    def progress_percent(self) -> float:
        total = self.valid_rows if self.status == self.Status.IMPORTING else self.total_rows
        return min(100.0, 100.0 * self.progress_rows / total) if total else 0.0

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} from {self.file_name}"


# --- background work ----------------------------------------------------------------------


class JobRun(models.Model):
    """One run of a periodic or triggered job, so marketers see last results and failures."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "Succeeded"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=60, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=300, blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["name", "-started_at"], name="job_run_name_idx")]

    def __str__(self):
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class OutboxJob(models.Model):
    """A job that could not reach Redis: kept in the database and swept into the queue later."""

    queue_name = models.CharField(max_length=40)
    func_path = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict, blank=True)
    # Seconds a worker may spend on the job; empty means the queue's DEFAULT_TIMEOUT.
    job_timeout = models.PositiveIntegerField(null=True, blank=True)
    reference = models.CharField(
        max_length=100,
        blank=True,
        default="",
        db_index=True,
        help_text="What the job is for, e.g. recalculation:12.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["sent_at", "id"], name="outbox_pending_idx")]

    def __str__(self):
        return f"{self.func_path} on {self.queue_name} ({'sent' if self.sent_at else 'waiting'})"


class Qualification(models.Model):
    """A lead meeting the version's qualification criteria (§6): one row per qualification."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="qualifications")
    at = models.DateTimeField()
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="qualifications",
    )
    version = models.ForeignKey(
        "models_review.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.FloatField()
    assigned_by = models.CharField(
        max_length=20, blank=True, default="", help_text="account owner, lead owner or round-robin"
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["at"], name="qualification_at_idx")]

    def __str__(self):
        return f"{self.lead} qualified at {self.at:%Y-%m-%d %H:%M}"


class WebhookEndpoint(models.Model):
    """Where qualifications are posted (§6), signed with HMAC-SHA256 of the body."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, help_text="Shared secret for the X-Leadscore-Signature header.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class WebhookDelivery(models.Model):
    """Every attempt to post one payload to one endpoint, retried with exponential back-off."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    qualification = models.ForeignKey(
        Qualification, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx")]


# CRM sync lives in its own package; imported here so its models are part of this app.
from leads.crm.models import CrmConnection, LeadSync, PulledDeal, SyncRun  # noqa: E402, F401
