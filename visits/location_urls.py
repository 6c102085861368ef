from django.urls import path

from visits import location_views as views

app_name = "locations"

urlpatterns = [
    path("villages/locations/", views.LocationListView.as_view(), name="location_list"),
    path(
        "villages/locations/<int:pk>/", views.LocationDetailView.as_view(), name="location_detail"
    ),
]
