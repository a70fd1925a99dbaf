"""CRM sync records (SPEC §12): a connection per CRM, what each lead last sent, every run.
Registered through leads.models so they belong to the leads app and its migrations."""

from django.db import models

DEFAULT_FIELD_MAPPING = {
    "score": "leadscore_score",
    "stage": "leadscore_stage",
    "account_score": "leadscore_account_score",
    "likelihood": "leadscore_likelihood",
    "why": "leadscore_why",
    "updated_at": "leadscore_updated_at",
}
# Custom fields, created by an admin on both Lead and Contact.
DEFAULT_SALESFORCE_MAPPING = {
    "score": "Leadscore_Score__c",
    "stage": "Leadscore_Stage__c",
    "account_score": "Leadscore_Account_Score__c",
    "likelihood": "Leadscore_Likelihood__c",
    "why": "Leadscore_Why__c",
    "updated_at": "Leadscore_Updated_At__c",
}


class CrmConnection(models.Model):
    class Kind(models.TextChoices):
        HUBSPOT = "hubspot", "HubSpot"
        SALESFORCE = "salesforce", "Salesforce"

    kind = models.CharField(max_length=20, choices=Kind.choices, unique=True)
    base_url = models.URLField(
        max_length=300,
        blank=True,
        default="",
        help_text="HubSpot API host or Salesforce instance URL; empty means HubSpot's public API.",
    )
    # A HubSpot private-app token, a Salesforce session id or OAuth client secret, encrypted
    # with a key derived from SECRET_KEY (leads.crm.secrets); never shown again.
    secret_encrypted = models.TextField(blank=True, default="", editable=False)
    secret_hint = models.CharField(max_length=12, blank=True, default="", editable=False)
    client_id = models.CharField(
        max_length=300, blank=True, default="", help_text="Salesforce OAuth client (consumer) key."
    )
    field_mapping = models.JSONField(default=dict, blank=True)
    score_delta = models.FloatField(
        default=1.0, help_text="A score change smaller than this is not pushed (points)."
    )
    calls_per_window = models.PositiveIntegerField(
        default=100, help_text="HubSpot calls allowed per 10 seconds for the account's tier."
    )
    is_active = models.BooleanField(default=True, help_text="Untick to pause the periodic push and pull.")
    # One push at a time per connector across processes: a lease taken by a conditional UPDATE,
    # so a killed run's lease simply runs out.
    push_lease_owner = models.CharField(max_length=64, blank=True, default="", editable=False)
    push_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    pulled_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self):
        return self.get_kind_display()

    @property
    def mapping(self) -> dict[str, str]:
        """Leadscore value → CRM property; an empty property name means "not written"."""
        defaults = DEFAULT_SALESFORCE_MAPPING if self.kind == self.Kind.SALESFORCE else DEFAULT_FIELD_MAPPING
        return {**defaults, **(self.field_mapping or {})}


class LeadSync(models.Model):
    """What a lead last pushed successfully to one CRM: the next push sends it only when these
    values moved (score by at least the connection's delta, or any stage or account change)."""

    class Status(models.TextChoices):
        SYNCED = "synced", "Synced"
        FAILED = "failed", "Refused by the CRM"
        UNMATCHED = "unmatched", "No such contact in the CRM"

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="lead_syncs")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="crm_syncs", db_index=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SYNCED)
    score = models.FloatField(null=True, blank=True)
    stage = models.PositiveSmallIntegerField(null=True, blank=True)
    account_id = models.BigIntegerField(null=True, blank=True)
    account_score = models.FloatField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "connection"], name="lead_sync_unique")]
        indexes = [models.Index(fields=["connection", "status"], name="lead_sync_status_idx")]


class SyncRun(models.Model):
    class Direction(models.TextChoices):
        PUSH = "push", "Push"
        PULL = "pull", "Pull"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "Everything sent"
        PARTIAL = "partial", "Some records refused"
        FAILED = "failed", "CRM unreachable; changes kept"
        BUSY = "busy", "Skipped: another run in progress"

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="runs")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    sent = models.PositiveIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    outcomes = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="Sentences a marketer can read.")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["connection", "-started_at"], name="sync_run_recent_idx")]

    def __str__(self):
        return f"{self.connection} {self.direction} at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class PulledDeal(models.Model):
    """A closed deal or opportunity already turned into an outcome: pulled once per CRM id."""

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="pulled_deals")
    external_id = models.CharField(max_length=64)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    won = models.BooleanField()
    closed_at = models.DateTimeField(null=True, blank=True)
    pulled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "external_id"], name="pulled_deal_unique")
        ]
