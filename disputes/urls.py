from django.urls import path
from django.views.generic import RedirectView

from disputes import views

app_name = "disputes"

LEDGER = "disputes/<str:ledger>/"

urlpatterns = [
    # /disputes/ itself lands on the yearly 三零 status (the ledgers are one click away)
    path(
        "disputes/",
        RedirectView.as_view(pattern_name="disputes:sanling", query_string=True),
        name="index",
    ),
    path("disputes/sanling/", views.SanlingView.as_view(), name="sanling"),
    path(
        "disputes/sanling/recompute/",
        views.SanlingRecomputeView.as_view(),
        name="sanling_recompute",
    ),
    path(
        "disputes/sanling/<str:kind>/<int:pk>/<int:year>/",
        views.SanlingSubjectView.as_view(),
        name="sanling_subject",
    ),
    path("disputes/units/", views.UnitListView.as_view(), name="unit_list"),
    path("disputes/units/new/", views.UnitFormView.as_view(), name="unit_new"),
    path("disputes/units/<int:pk>/", views.UnitDetailView.as_view(), name="unit_detail"),
    path("disputes/units/<int:pk>/edit/", views.UnitFormView.as_view(), name="unit_edit"),
    path("disputes/zero-reports/", views.ZeroReportView.as_view(), name="zero_reports"),
    path(LEDGER, views.LedgerListView.as_view(), name="ledger_list"),
    path(LEDGER + "new/", views.LedgerCreateView.as_view(), name="ledger_new"),
    path(LEDGER + "<int:pk>/", views.LedgerDetailView.as_view(), name="ledger_detail"),
    path(LEDGER + "<int:pk>/edit/", views.LedgerEditView.as_view(), name="ledger_edit"),
    path(LEDGER + "<int:pk>/delete/", views.LedgerDeleteView.as_view(), name="ledger_delete"),
]
