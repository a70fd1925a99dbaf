"""NPS surveys (SPEC §8): a survey, the personal invitations it sends, and the answers.

Only a hash of each personal token is stored, so a database dump cannot answer for anyone.
A response's one-to-one link to its invitation is the database constraint that makes a
personal link single-use even when it is posted twice at the same instant."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from leads.models import Lead
from surveys.nps import nps_group

DEFAULT_QUESTION = "On a scale from 0 to 10, how likely are you to recommend us?"
DEFAULT_FOLLOW_UP = "What is the main reason for your score?"
DEFAULT_THANK_YOU = "Your answer helps us do better. We read every single one."


def new_public_token() -> str:
    return secrets.token_urlsafe(12)


class Survey(models.Model):
    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        PORTUGUESE = "pt", "Portuguese"
        LATVIAN = "lv", "Latvian"
        JAPANESE = "ja", "Japanese"
        DANISH = "da", "Danish"

    name = models.CharField(max_length=120)
    question = models.CharField(max_length=300, default=DEFAULT_QUESTION)
    follow_up_question = models.CharField(
        max_length=300,
        blank=True,
        default=DEFAULT_FOLLOW_UP,
        help_text="Optional “why” question; leave empty to ask only for the score.",
    )
    thank_you_text = models.CharField(max_length=500, default=DEFAULT_THANK_YOU)
    language = models.CharField(max_length=5, choices=Language.choices, default=Language.ENGLISH)
    public_token = models.CharField(max_length=40, unique=True, default=new_public_token, editable=False)
    public_link_enabled = models.BooleanField(default=True)
    expiry_days = models.PositiveSmallIntegerField(default=30, help_text="Days a personal link stays valid.")
    throttle_days = models.PositiveSmallIntegerField(
        default=90, help_text="A lead is not surveyed again within this many days."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name


class Invitation(models.Model):
    """One personal link for one lead. The token exists only in the email and as a hash here."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending send"
        SENT = "sent", "Sent"
        ANSWERED = "answered", "Answered"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="nps_invitations")
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "id"], name="invitation_status_idx"),
            models.Index(fields=["lead", "-created_at"], name="invitation_lead_idx"),
        ]

    def __str__(self):
        return f"{self.survey} → {self.lead}"


class Response(models.Model):
    class Channel(models.TextChoices):
        PERSONAL = "personal", "Personal link"
        PUBLIC = "public", "Public link"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="nps_responses"
    )
    score = models.PositiveSmallIntegerField()
    reason = models.TextField(blank=True, default="")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["-answered_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=10), name="nps_score_0_10")
        ]
        indexes = [
            models.Index(fields=["survey", "answered_at"], name="response_survey_time_idx"),
            models.Index(fields=["answered_at"], name="response_time_idx"),
        ]

    def __str__(self):
        return f"{self.score} on {self.answered_at:%Y-%m-%d}"

    @property
    def group(self) -> str:
        return nps_group(self.score)


class SubmissionLog(models.Model):
    """Recent public form posts of one sender address (a keyed hash of it). The rate limit
    lives in the database, and the row is locked while it is read and written, so the
    limit holds exactly across every web worker process."""

    address_hash = models.CharField(max_length=64, unique=True)
    recent = models.JSONField(default=list, help_text="Unix times of the latest posts, oldest first.")
    updated_at = models.DateTimeField(db_index=True)
