from django.urls import path

from visits import pwa, views

app_name = "visits"

urlpatterns = [
    # the cadre's installable app: served from the root so the worker controls every page
    path("sw.js", pwa.service_worker, name="pwa_sw"),
    path("manifest.webmanifest", pwa.manifest, name="pwa_manifest"),
    path("visits/", views.VisitListView.as_view(), name="visit_list"),
    path("visits/new/", views.VisitNewView.as_view(), name="visit_new"),
    path("visits/<int:pk>/", views.VisitDetailView.as_view(), name="visit_detail"),
    path("visits/<int:pk>/edit/", views.VisitEditView.as_view(), name="visit_edit"),
    path(
        "visits/<int:pk>/photos/<int:photo_id>/",
        views.VisitPhotoView.as_view(),
        name="visit_photo",
    ),
    path(
        "visits/<int:pk>/photos/<int:photo_id>/thumbnail/",
        views.VisitPhotoThumbnailView.as_view(),
        name="visit_photo_thumbnail",
    ),
]
