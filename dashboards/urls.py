from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("dashboards/", views.home, name="home"),
    path("dashboards/city/", views.city, name="city"),
    path("dashboards/county/<int:pk>/", views.county, name="county"),
    path("dashboards/township/<int:pk>/", views.township, name="township"),
    path("dashboards/village/<int:pk>/", views.village, name="village"),
    path("dashboards/city/export/", views.export, {"level": "city"}, name="export_city"),
    path("dashboards/<str:level>/<int:pk>/export/", views.export, name="export"),
    path("dashboards/refresh/", views.refresh, name="refresh"),
    path("dashboards/refresh/status/", views.refresh_status, name="refresh_status"),
    path("dashboards/targets/", views.target_list, name="targets"),
    path("dashboards/targets/new/", views.target_edit, name="target_new"),
    path("dashboards/targets/<int:pk>/", views.target_edit, name="target_edit"),
    path("dashboards/targets/<int:pk>/history/", views.target_history, name="target_history"),
]
