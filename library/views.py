from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from library.forms import ContentItemForm
from library.selectors import content_item_get, content_items
from library.services import content_item_save, content_item_set_active
from salesdept.roles import manager_required

FORM = "library/item_form.html"


@require_GET
@manager_required
def item_list(request: HttpRequest) -> HttpResponse:
    return render(request, "library/item_list.html", {"items": content_items()})


@require_http_methods(["GET", "POST"])
@manager_required
def item_add(request: HttpRequest) -> HttpResponse:
    form = ContentItemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        item = content_item_save(item=None, actor=request.user, data=form.cleaned_data)
        messages.success(request, f"“{item.title}” added: post suggestions may draw on it from now on.")
        return redirect("library:list")
    return render(request, FORM, {"form": form})


@require_http_methods(["GET", "POST"])
@manager_required
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = content_item_get(pk)
    form = ContentItemForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        content_item_save(item=item, actor=request.user, data=form.cleaned_data)
        messages.success(request, f"“{item.title}” saved.")
        return redirect("library:list")
    return render(request, FORM, {"form": form, "item": item})


@require_POST
@manager_required
def item_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    item = content_item_get(pk)
    active = not item.is_active
    content_item_set_active(item=item, active=active)
    if active:
        messages.success(request, f"“{item.title}” is active again.")
    else:
        messages.success(request, f"“{item.title}” deactivated: no new post will draw on it.")
    return redirect("library:list")
