"""The API tokens section of /me/: create one (shown once, on the page the POST answers) and revoke one."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from salesdept.apitokens import api_token_create, api_token_revoke, api_tokens_of
from salesdept.forms import ApiTokenForm
from salesdept.models import ApiToken
from salesdept.views import PROFILE, _profile_context


def api_tokens_context(user, *, form: ApiTokenForm | None = None, new_token: str = "") -> dict:
    return {"api_tokens": api_tokens_of(user), "api_token_form": form or ApiTokenForm(), "new_api_token": new_token}


@require_POST
@sensitive_post_parameters()
def api_token_new(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return render(
            request, PROFILE, _profile_context(request) | api_tokens_context(request.user, form=form), status=400
        )
    _token, raw = api_token_create(user=request.user, **form.cleaned_data)
    # Rendered, not redirected: the token must not wait in a session or a message store to be shown.
    context = _profile_context(request) | api_tokens_context(request.user, new_token=raw)
    response = render(request, PROFILE, context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)  # another person's token does not exist here
    if api_token_revoke(user=request.user, pk=token.pk):
        messages.success(request, f"Token “{token.name}” revoked: anything using it is refused from now on.")
    else:
        messages.info(request, f"Token “{token.name}” was already revoked.")
    return redirect("profile")
