from django.contrib import admin

from surveys.models import Invitation, Response, Survey


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("name", "language", "expiry_days", "throttle_days", "public_link_enabled", "created_at")
    search_fields = ("name",)
    readonly_fields = ("public_token", "created_at")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("survey", "lead", "status", "sent_at", "expires_at", "send_attempts", "last_error")
    list_filter = ("status", "survey")
    search_fields = ("lead__email",)
    list_select_related = ("survey", "lead")
    # The token hash is useless to a person and must never be edited into a guessable value.
    exclude = ("token_hash",)
    readonly_fields = ("survey", "lead", "created_at", "sent_at", "send_attempts", "last_error")


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    """Answers are what a prospect said: shown, never edited."""

    list_display = ("answered_at", "survey", "lead", "score", "channel")
    list_filter = ("survey", "channel", "score")
    search_fields = ("lead__email", "reason")
    list_select_related = ("survey", "lead")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
