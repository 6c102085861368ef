from django.urls import path

from villages import views

app_name = "villages"

urlpatterns = [
    path("villages/", views.VillageListView.as_view(), name="village_list"),
    path("villages/<int:pk>/", views.VillageDetailView.as_view(), name="village_detail"),
    path("villages/export/", views.VillageExportView.as_view(), name="village_export"),
    path("exports/<int:pk>/", views.ExportDetailView.as_view(), name="export_detail"),
    path("exports/<int:pk>/download/", views.ExportDownloadView.as_view(), name="export_download"),
]
