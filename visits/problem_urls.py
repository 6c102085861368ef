from django.urls import path

from visits import problem_views as views

app_name = "problems"

urlpatterns = [
    path("problems/", views.ProblemListView.as_view(), name="problem_list"),
    path("problems/new/", views.ProblemCreateView.as_view(), name="problem_new"),
    path("problems/<int:pk>/", views.ProblemDetailView.as_view(), name="problem_detail"),
]
