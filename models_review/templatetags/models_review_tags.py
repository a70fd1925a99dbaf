from django import template

from leads.roles import is_marketer
from models_review.forms import FeedbackForm
from models_review.models import SalesFeedback
from models_review.selectors import review_schedule

register = template.Library()


@register.simple_tag
def feedback_for(lead, user):
    """The signed-in person's own feedback on `lead` (None if they gave none)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return SalesFeedback.objects.filter(lead=lead, rep=user).first()


@register.simple_tag
def feedback_form(feedback, refused_form=None):
    """The form filled from the saved feedback, or the refused one so nothing typed is lost."""
    if refused_form:
        return refused_form
    initial = {}
    if feedback is not None:
        initial = {
            "really_sales_ready": {True: "yes", False: "no"}.get(feedback.really_sales_ready, ""),
            "reason": feedback.reason,
            "outcome": feedback.outcome,
            "note": feedback.note,
            "good_actions_note": feedback.good_actions_note,
        }
    return FeedbackForm(initial=initial, auto_id=f"id_fb{getattr(feedback, 'lead_id', '')}_%s")


@register.simple_tag
def others_feedback(lead, user):
    if not is_marketer(user):
        return []
    return SalesFeedback.objects.filter(lead=lead).exclude(rep=user).select_related("rep")


@register.inclusion_tag("models_review/_review_banner.html", takes_context=True)
def review_banner(context):
    request = context.get("request")
    show = request is not None and is_marketer(request.user)
    return {"schedule": review_schedule() if show else None}
