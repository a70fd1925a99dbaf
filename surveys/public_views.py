"""The pages prospects see: no sign-in, one form, nothing about anyone but the greeting name."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from surveys import services
from surveys.forms import AnswerForm
from surveys.models import Survey
from surveys.nps import SCORES
from surveys.public_text import texts

RATE_LIMITED = (
    "Too many answers came from your network in the last minute. Please wait a minute and try again."
)
LOOKS_AUTOMATED = "Your answer could not be accepted. Please try again."


@never_cache
@require_http_methods(["GET", "POST"])
def respond(request, token):
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(
            request, "surveys/link_invalid.html", {"reason": "unknown", "t": texts(None)}, status=404
        )
    survey = invitation.survey
    try:
        services.check_invitation_open(invitation, timezone.now())
        form = AnswerForm(request.POST or None)
        refusal, status = _refusal(request, form)
        if request.method == "POST" and refusal is None:
            services.response_record(
                invitation=invitation, score=form.cleaned_data["score"], reason=form.cleaned_data["reason"]
            )
            return redirect("surveys:respond_thanks", token)
    except services.AlreadyAnswered:
        return render(
            request, "surveys/already_answered.html", {"survey": survey, "t": texts(survey.language)}
        )
    except services.LinkExpired:
        return render(
            request,
            "surveys/link_invalid.html",
            {"reason": "expired", "survey": survey, "t": texts(survey.language)},
            status=410,
        )
    return _form_page(
        request, survey, form, refusal, status, greeting=services.first_name(invitation.lead.name)
    )


@never_cache
@require_http_methods(["GET", "POST"])
def public_respond(request, public_token):
    survey = Survey.objects.filter(public_token=public_token, public_link_enabled=True).first()
    if survey is None:
        return render(
            request, "surveys/link_invalid.html", {"reason": "unknown", "t": texts(None)}, status=404
        )
    form = AnswerForm(request.POST or None)
    refusal, status = _refusal(request, form)
    if request.method == "POST" and refusal is None:
        services.public_response_record(
            survey=survey, score=form.cleaned_data["score"], reason=form.cleaned_data["reason"]
        )
        return redirect("surveys:thanks", survey.public_token)
    return _form_page(request, survey, form, refusal, status, greeting="")


@require_GET
def thanks(request, public_token):
    # A survey whose public link is switched off has no public pages at all.
    survey = get_object_or_404(Survey, public_token=public_token, public_link_enabled=True)
    return render(request, "surveys/thanks.html", {"survey": survey, "t": texts(survey.language)})


@require_GET
def respond_thanks(request, token):
    """Thanks after a personal link's answer, whether or not the survey has a public link."""
    invitation = services.invitation_for_token(token)
    if invitation is None or invitation.status != invitation.Status.ANSWERED:
        raise Http404("No answered invitation for this link.")
    survey = invitation.survey
    return render(request, "surveys/thanks.html", {"survey": survey, "t": texts(survey.language)})


def _refusal(request, form) -> tuple[str | None, int]:
    """Why a post is refused (message, HTTP status), checked before anything is stored."""
    if request.method != "POST":
        return None, 200
    if not services.submission_allowed(address=client_address(request)):
        return RATE_LIMITED, 429
    if form.is_bot:
        return LOOKS_AUTOMATED, 400
    if not form.is_valid():
        return "; ".join(error for errors in form.errors.values() for error in errors), 400
    return None, 200


def _form_page(request, survey, form, refusal, status, *, greeting):
    t = texts(survey.language)
    return render(
        request,
        "surveys/respond.html",
        {
            "survey": survey,
            "form": form,
            "refusal": refusal,
            "scores": SCORES,
            "t": t,
            "greeting": greeting,
            "greeting_line": t["hi"].format(name=greeting),
            "chosen": str(form.data.get("score", "")) if form.is_bound else "",
        },
        status=status,
    )


def client_address(request) -> str:
    # Behind the TLS proxy every request comes from the proxy; the address it appended last
    # to X-Forwarded-For is the one a client cannot forge.
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
        ]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
