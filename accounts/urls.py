from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("me/", views.ProfileView.as_view(), name="profile"),
    path("me/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("me/sessions/end-others/", views.EndOtherSessionsView.as_view(), name="end_others"),
]
