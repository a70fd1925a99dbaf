from django.contrib import admin

from models_review.models import ModelVersion, Rule, ScoringModel


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
