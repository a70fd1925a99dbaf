"""Sign-in that slows down password guessing: after repeated failures for one username
(or from one address) further attempts are refused for a while without checking the
password. Counters live in the database cache, so every web process shares them."""

from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20


def _keys(username: str, address: str) -> tuple[str, str]:
    return f"signin-fail:user:{username.strip().lower()[:150]}", f"signin-fail:addr:{address}"


def _client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown") if request else "unknown"


def is_throttled(username: str, address: str) -> bool:
    user_key, address_key = _keys(username, address)
    return (
        cache.get(user_key, 0) >= MAX_FAILURES_PER_USERNAME
        or cache.get(address_key, 0) >= MAX_FAILURES_PER_ADDRESS
    )


def record_failure(username: str, address: str) -> None:
    for key in _keys(username, address):
        if not cache.add(key, 1, WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, WINDOW_SECONDS)


def clear_failures(username: str) -> None:
    cache.delete(_keys(username, "")[0])


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": (
            "Too many failed sign-ins. Wait 15 minutes and try again, or ask an admin to reset your password."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = _client_address(self.request)
        if is_throttled(username, address):
            raise ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            record_failure(username, address)
            raise
        clear_failures(username)
        return cleaned


class SignInView(LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if any(error.code == "throttled" for error in form.errors.as_data().get("__all__", [])):
            response.status_code = 429
        return response
