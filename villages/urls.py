from django.urls import path

from villages import views

app_name = "villages"

urlpatterns = [
    path("villages/", views.VillageListView.as_view(), name="village_list"),
    path("villages/<int:pk>/", views.VillageDetailView.as_view(), name="village_detail"),
    path("assignments/<int:pk>/", views.AssignmentDetailView.as_view(), name="assignment_detail"),
    path("villages/export/", views.ExportCreateView.as_view(), name="village_export"),
    path("exports/new/<str:kind>/", views.ExportCreateView.as_view(), name="export_create"),
    path("exports/<int:pk>/", views.ExportDetailView.as_view(), name="export_detail"),
    path("exports/<int:pk>/download/", views.ExportDownloadView.as_view(), name="export_download"),
    path("imports/", views.ImportListView.as_view(), name="import_list"),
    path("imports/<int:pk>/", views.ImportDetailView.as_view(), name="import_detail"),
    path("imports/<int:pk>/confirm/", views.ImportConfirmView.as_view(), name="import_confirm"),
    path("imports/<int:pk>/cancel/", views.ImportCancelView.as_view(), name="import_cancel"),
    path("imports/<int:pk>/retry/", views.ImportRetryView.as_view(), name="import_retry"),
    path(
        "imports/<int:pk>/annotated/", views.ImportAnnotatedView.as_view(), name="import_annotated"
    ),
    path(
        "imports/templates/<str:kind>/", views.ImportTemplateView.as_view(), name="import_template"
    ),
    path("years/", views.YearListView.as_view(), name="year_list"),
    path("years/open/", views.YearOpenView.as_view(), name="year_open"),
    path("years/links/", views.ProposalCurrentView.as_view(), name="proposal_current"),
    path("years/<int:year>/close/", views.YearCloseView.as_view(), name="year_close"),
    path("years/<int:year>/reopen/", views.YearReopenView.as_view(), name="year_reopen"),
    path("years/<int:year>/links/", views.ProposalListView.as_view(), name="proposal_list"),
    path(
        "years/<int:year>/links/<int:pk>/change/",
        views.ProposalChangeView.as_view(),
        name="proposal_change",
    ),
]
