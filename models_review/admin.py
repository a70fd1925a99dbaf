from django.contrib import admin

from models_review.models import ModelVersion, PreviewRun, Review, Rule, SalesFeedback, ScoringModel


class RuleInline(admin.TabularInline):
    model = Rule
    extra = 0

    def _editable(self, obj):
        return obj is None or not obj.is_published

    def has_add_permission(self, request, obj=None):
        return self._editable(obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj)


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "is_active", "sales_ready_score", "decay_mode", "published_at", "published_by")
    list_filter = ("status", "is_active", "scoring_model")
    inlines = [RuleInline]
    readonly_fields = ("status", "is_active", "published_at", "published_by", "created_at", "created_by")

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.is_published

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.is_published


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by their own screens and jobs; the admin only looks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SalesFeedback)
class SalesFeedbackAdmin(admin.ModelAdmin):
    list_display = ("lead", "rep", "really_sales_ready", "reason", "outcome", "version", "updated_at")
    list_filter = ("really_sales_ready", "reason", "outcome", "version")
    search_fields = ("lead__email", "lead__name", "rep__username", "note")
    raw_id_fields = ("lead",)


@admin.register(PreviewRun)
class PreviewRunAdmin(ReadOnlyAdmin):
    list_display = ("draft", "baseline", "status", "done", "total", "created_at")
    exclude = ("result",)


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("version", "due_on", "completed_at", "completed_by")
