from django.contrib import admin, messages

from leads.ingest.credentials import api_token_assign_secret, write_key_assign_secret
from leads.models import (
    Account,
    ApiToken,
    Asset,
    CsvImport,
    Event,
    Identity,
    JobRun,
    Lead,
    OutboxJob,
    ProductLine,
    ProductScore,
    Qualification,
    StageChange,
    Tag,
    WebhookDelivery,
    WebhookEndpoint,
    WriteKey,
)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "score", "member_count", "engaged_members", "is_sales_ready", "owner")
    list_filter = ("is_sales_ready",)
    search_fields = ("name", "domain", "group_id")
    readonly_fields = ("score", "member_count", "engaged_members", "is_sales_ready", "score_updated_at")
    autocomplete_fields = ("owner",)


@admin.register(ProductLine)
class ProductLineAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("key", "kind", "name", "sales_ready", "product_line", "target_stage")
    list_filter = ("kind", "sales_ready", "product_line", "target_stage")
    list_editable = ("sales_ready",)
    search_fields = ("key", "name", "url_pattern")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


class ProductScoreInline(admin.TabularInline):
    model = ProductScore
    extra = 0
    can_delete = False
    readonly_fields = ("product_line", "score", "scored_at", "last_engaged_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "name",
        "account",
        "owner",
        "score",
        "stage",
        "is_cold",
        "is_qualified",
        "last_engaged_at",
    )
    list_filter = ("stage", "is_cold", "is_qualified", "owner", "tags")
    search_fields = ("email", "name", "user_id", "account__name", "account__domain")
    list_select_related = ("account", "owner")
    autocomplete_fields = ("account", "owner", "tags")
    # Scores are derived from events; only people and relations are edited by hand.
    readonly_fields = (
        "score",
        "scored_at",
        "last_engaged_at",
        "stage",
        "stage_changed_at",
        "engine_state",
        "scored_with",
        "is_cold",
        "cold_since",
        "is_qualified",
        "qualified_at",
        "nps_score",
        "nps_answered_at",
        "created_at",
        "updated_at",
    )
    inlines = [ProductScoreInline]
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "type", "name", "lead", "asset_key", "campaign", "source")
    list_filter = ("type", "source")
    search_fields = ("idempotency_key", "lead__email", "anonymous_id", "name", "asset_key", "campaign")
    list_select_related = ("lead",)
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ("anonymous_id", "lead", "created_at")
    search_fields = ("anonymous_id", "lead__email")
    raw_id_fields = ("lead",)


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ("at", "lead", "from_stage", "to_stage", "reason", "campaign")
    list_filter = ("reason", "to_stage", "from_stage")
    search_fields = ("lead__email", "campaign")
    raw_id_fields = ("lead", "event")

    def has_change_permission(self, request, obj=None):
        return False


# --- tracking write keys and read-API tokens (secrets shown once, stored hashed) ---------


@admin.register(WriteKey)
class WriteKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "key_prefix", "is_active", "created_at", "last_used_at")
    list_filter = ("is_active",)
    search_fields = ("name", "key_prefix")
    readonly_fields = ("key_prefix", "created_by", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change):
        secret = None
        if not change:
            secret = write_key_assign_secret(key=obj)
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if secret:
            messages.warning(
                request,
                f"Write key for “{obj.name}”: {secret} — copy it now, it will not be shown again. "
                "Tracking clients send it as the HTTP Basic username.",
            )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("token_prefix", "user", "name", "created_at", "last_used_at")
    search_fields = ("user__username", "name", "token_prefix")
    readonly_fields = ("token_prefix", "created_at", "last_used_at")
    autocomplete_fields = ("user",)

    def save_model(self, request, obj, form, change):
        secret = api_token_assign_secret(token=obj) if not change else None
        super().save_model(request, obj, form, change)
        if secret:
            messages.warning(
                request,
                f"API token for {obj.user}: {secret} — copy it now, it will not be shown again. "
                "Send it as “Authorization: Bearer <token>”.",
            )


@admin.register(CsvImport)
class CsvImportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "file_name", "status", "total_rows", "imported_rows", "created_by")
    list_filter = ("kind", "status")
    exclude = ("content",)
    readonly_fields = (
        "kind",
        "file_name",
        "status",
        "total_rows",
        "imported_rows",
        "duplicate_rows",
        "errors",
        "created_by",
        "created_at",
        "imported_at",
    )

    def has_add_permission(self, request):
        return False


# --- background work --------------------------------------------------------------------


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "is_active", "created_at")
    list_filter = ("is_active",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "endpoint",
        "qualification",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "endpoint")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]


@admin.register(Qualification)
class QualificationAdmin(admin.ModelAdmin):
    list_display = ("lead", "at", "rep", "score", "assigned_by", "version")
    list_filter = ("assigned_by",)
    readonly_fields = [f.name for f in Qualification._meta.fields]


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "started_at", "finished_at", "result")
    list_filter = ("name", "status")
    readonly_fields = [f.name for f in JobRun._meta.fields]


@admin.register(OutboxJob)
class OutboxJobAdmin(admin.ModelAdmin):
    list_display = ("func_path", "queue_name", "reference", "created_at", "sent_at", "attempts", "last_error")
    list_filter = ("queue_name",)
