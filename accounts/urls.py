from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("me/", views.ProfileView.as_view(), name="profile"),
    path("me/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("me/sessions/end-others/", views.EndOtherSessionsView.as_view(), name="end_others"),
    path("accounts/manage/", views.AccountListView.as_view(), name="account_list"),
    path(
        "accounts/manage/<int:user_id>/",
        views.AccountDetailView.as_view(),
        name="account_detail",
    ),
    path(
        "accounts/manage/<int:user_id>/reset/",
        views.AccountResetView.as_view(),
        name="account_reset",
    ),
    path(
        "accounts/manage/<int:user_id>/active/",
        views.AccountActiveView.as_view(),
        name="account_active",
    ),
    path("accounts/sheets/new/", views.SheetCreateView.as_view(), name="sheet_create"),
    path("accounts/sheets/<int:pk>/", views.SheetDetailView.as_view(), name="sheet_detail"),
    path("accounts/sheets/<int:pk>/print/", views.SheetPrintView.as_view(), name="sheet_print"),
    path("accounts/sheets/<int:pk>/xlsx/", views.SheetXlsxView.as_view(), name="sheet_xlsx"),
    path("accounts/log/", views.EventListView.as_view(), name="event_list"),
]
