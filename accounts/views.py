"""个人中心 and the password change; 账号管理 (resets, deactivation, first-password sheets)
and the account log. Thin: the services write, the selectors read, and whatever lies
outside the reader's reach is a 404."""

from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.views import View

from accounts import selectors, services
from accounts.exports import credential_workbook
from accounts.filters import EventFilter
from accounts.forms import ActiveForm, PasswordChangeForm, ReasonForm, SheetCreateForm
from accounts.models import AccountEvent
from core.forms import add_service_errors
from core.paging import querystring_without_page

OUT_OF_REACH = "不存在，或不在您的管辖范围内。"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ProfileView(LoginRequiredMixin, View):
    """个人中心: who I am, change my password, where I am signed in."""

    def get(self, request):
        return render(request, "accounts/profile.html", self._context(request))

    @staticmethod
    def _context(request) -> dict:
        user = request.user
        cadre = getattr(user, "cadre", None)
        account = selectors.own_account(user=user)
        return {
            "account": account,
            "cadre": cadre,
            "phone": selectors.phone_of(user, account),
            "sessions": selectors.own_sessions(user=user),
            "current_key": request.session.session_key,
            "events": selectors.own_events(user=user),
        }


class EndOtherSessionsView(LoginRequiredMixin, View):
    def post(self, request):
        ended = services.sessions_end_others(actor=request.user, request=request)
        messages.success(request, f"已退出其他 {ended} 个设备上的登录。")
        return redirect("accounts:profile")


class PasswordChangeView(LoginRequiredMixin, View):
    template_name = "accounts/password_change.html"

    def get(self, request):
        return render(request, self.template_name, {"form": PasswordChangeForm()})

    def post(self, request):
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            try:
                services.password_change(
                    actor=request.user,
                    request=request,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "密码已修改。其他设备上的登录已退出。")
                return redirect("home")
        return render(request, self.template_name, {"form": form}, status=400)


# ----- 账号管理 -----


def _managers_only(request) -> None:
    if not selectors.can_manage_accounts(user=request.user):
        raise Http404(OUT_OF_REACH)


class AccountListView(LoginRequiredMixin, View):
    """The logins the reader manages, searched and filtered by state, with the panel that
    hands out first passwords."""

    def get(self, request):
        _managers_only(request)
        user = request.user
        query = request.GET.get("q", "")[:50]
        state = request.GET.get("state", "")
        rows = selectors.account_rows_for_user(user=user, query=query, state=state)
        page = Paginator(rows, 50).get_page(request.GET.get("page"))
        areas = selectors.account_areas(user=user, users=page.object_list)
        context = {
            "page_obj": page,
            "people": [
                (person, areas.get(person.pk, ""), selectors.STATES[person.state])
                for person in page.object_list
            ],
            "query": query,
            "state": state,
            "unknown_state": bool(state) and state not in selectors.STATES,
            "states": selectors.STATES,
            "querystring": querystring_without_page(request),
            "awaiting": selectors.accounts_awaiting_first_password(user=user).count(),
            "issued_unused": selectors.accounts_issued_unused(user=user).count(),
            "sheets": selectors.sheet_list_for_user(user=user),
            "sheet_minutes": settings.CREDENTIAL_SHEET_MINUTES,
        }
        return render(request, "accounts/account_list.html", context)


def _detail(request, user_id, *, reset_form=None, active_form=None, status=200):
    person = selectors.account_row_get_for_user(user=request.user, user_id=user_id)
    context = {
        "person": person,
        "state_label": selectors.STATES[person.state],
        "area": selectors.account_areas(user=request.user, users=[person]).get(person.pk, ""),
        "events": selectors.account_events_for_user(user=request.user, target=person),
        "reset_form": reset_form or ReasonForm(),
        "active_form": active_form or ActiveForm(),
    }
    return render(request, "accounts/account_detail.html", context, status=status)


class AccountDetailView(LoginRequiredMixin, View):
    """One login the reader manages: its state, what was done to it and why, and the
    forms that reset its password or deactivate (reactivate) it."""

    def get(self, request, user_id):
        return _detail(request, user_id)


class AccountResetView(LoginRequiredMixin, View):
    """POST `reason`: a one-time password, shown once on the answer and kept nowhere."""

    def post(self, request, user_id):
        target = selectors.account_get_for_user(user=request.user, user_id=user_id)
        form = ReasonForm(request.POST)
        if form.is_valid():
            try:
                password = services.password_reset(
                    actor=request.user,
                    user=target,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except PermissionDenied as exc:
                raise Http404(OUT_OF_REACH) from exc
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                response = render(
                    request,
                    "accounts/account_reset_done.html",
                    {"person": target, "password": password},
                )
                add_never_cache_headers(response)
                return response
        return _detail(request, target.pk, reset_form=form, status=400)


class AccountActiveView(LoginRequiredMixin, View):
    """POST `active` ("1": reactivate, "0": deactivate) and `reason`."""

    def post(self, request, user_id):
        target = selectors.account_get_for_user(user=request.user, user_id=user_id)
        form = ActiveForm(request.POST)
        if form.is_valid():
            active = form.cleaned_data["active"]
            try:
                services.account_set_active(
                    actor=request.user,
                    user=target,
                    active=active,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except PermissionDenied as exc:
                raise Http404(OUT_OF_REACH) from exc
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                name = target.first_name or target.get_username()
                if active:
                    messages.success(request, f"已启用 {name} 的账号。")
                else:
                    messages.success(request, f"已停用 {name} 的账号，其所有登录已退出。")
                return redirect("accounts:account_detail", user_id=target.pk)
        return _detail(request, target.pk, active_form=form, status=400)


# ----- 开通通知: first passwords, readable by their creator for a short while -----


class SheetCreateView(LoginRequiredMixin, View):
    """POST `mode` = new / regenerate: draw first passwords, then the sheet's page."""

    def post(self, request):
        _managers_only(request)
        form = SheetCreateForm(request.POST)
        if not form.is_valid():
            messages.error(request, "；".join(form.errors["mode"]))
            return redirect("accounts:account_list")
        try:
            sheet = services.credentials_issue(
                actor=request.user,
                regenerate=form.cleaned_data["mode"] == "regenerate",
                request=request,
            )
        except PermissionDenied as exc:
            raise Http404(OUT_OF_REACH) from exc
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            return redirect("accounts:account_list")
        return redirect("accounts:sheet_detail", pk=sheet.pk)


def _own_sheet(request, pk):
    """The reader's own sheet (else a 404), once the expired ones are wiped."""
    sheet = selectors.credential_sheet_get_for_user(user=request.user, pk=pk)
    if services.credential_sheets_wipe():
        sheet.refresh_from_db()
    return sheet


def _portal_url(request) -> str:
    return settings.PORTAL_URL or request.build_absolute_uri("/")


class SheetDetailView(LoginRequiredMixin, View):
    def get(self, request, pk):
        sheet = _own_sheet(request, pk)
        rows = selectors.credential_sheet_rows(sheet) if sheet.readable else []
        context = {
            "sheet": sheet,
            "people": [{k: v for k, v in row.items() if k != "password"} for row in rows],
            "minutes": settings.CREDENTIAL_SHEET_MINUTES,
            "issued_unused": selectors.accounts_issued_unused(user=request.user).count()
            if not sheet.readable
            else 0,
        }
        response = render(request, "accounts/sheet_detail.html", context)
        add_never_cache_headers(response)
        return response


class SheetPrintView(LoginRequiredMixin, View):
    """The 开通通知 slips, several to an A4 page, to print and cut."""

    def get(self, request, pk):
        sheet = _own_sheet(request, pk)
        rows = selectors.credential_sheet_rows(sheet)
        services.credential_sheet_downloaded(
            actor=request.user, sheet=sheet, fmt="打印页", request=request
        )
        context = {
            "sheet": sheet,
            "rows": rows,
            "portal_url": _portal_url(request),
            "min_length": settings.PASSWORD_MIN_LENGTH,
        }
        response = render(request, "accounts/sheet_print.html", context)
        add_never_cache_headers(response)
        return response


class SheetXlsxView(LoginRequiredMixin, View):
    def get(self, request, pk):
        sheet = _own_sheet(request, pk)
        rows = selectors.credential_sheet_rows(sheet)
        services.credential_sheet_downloaded(
            actor=request.user, sheet=sheet, fmt="Excel", request=request
        )
        response = HttpResponse(credential_workbook(rows), content_type=XLSX)
        stamp = timezone.localtime(sheet.created_at).strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"开通通知-{stamp}.xlsx"
        )
        add_never_cache_headers(response)
        return response


# ----- 账号日志 -----


class EventListView(LoginRequiredMixin, View):
    """The account log, the city admin's alone: filtered, paged, exported."""

    def get(self, request):
        if not selectors.can_read_event_log(user=request.user):
            raise Http404(OUT_OF_REACH)
        filterset = EventFilter(
            request.GET or None,
            queryset=selectors.event_list_for_user(user=request.user).order_by("-at", "-id"),
            request=SimpleNamespace(user=request.user),
        )
        bad = filterset.is_bound and not filterset.is_valid()
        events = filterset.queryset.none() if bad else filterset.qs
        page = Paginator(events, 50).get_page(request.GET.get("page"))
        context = {
            "filter": filterset,
            "filter_errors": filterset.errors if bad else {},
            "page_obj": page,
            "kinds": AccountEvent.Kind.choices,
            "querystring": querystring_without_page(request),
        }
        return render(request, "accounts/event_list.html", context)
