from django.urls import path

from stars import views

app_name = "stars"

urlpatterns = [
    path("stars/", views.LevelOverviewView.as_view(), name="levels"),
    path("stars/board/", views.BoardView.as_view(), name="board"),
    path("stars/review/", views.ReviewListView.as_view(), name="review"),
    path("stars/review/bulk/", views.ReviewBulkView.as_view(), name="review_bulk"),
    path("stars/branches/<int:pk>/", views.StarCardView.as_view(), name="card"),
    path("stars/branches/<int:pk>/apply/", views.ApplyView.as_view(), name="apply"),
    path(
        "stars/branches/<int:pk>/tasks/<int:task_id>/",
        views.TaskCheckView.as_view(),
        name="task_check",
    ),
    path("stars/awards/<int:pk>/<slug:step>/", views.AwardStepView.as_view(), name="award_step"),
    path("stars/years/", views.RatingYearView.as_view(), name="years"),
    path("stars/weak/", views.WeakCaseListView.as_view(), name="weak_list"),
    path("stars/weak/new/", views.WeakCaseCreateView.as_view(), name="weak_new"),
    path("stars/weak/<int:pk>/", views.WeakCaseDetailView.as_view(), name="weak_detail"),
    path(
        "stars/weak/<int:pk>/<slug:action>/",
        views.WeakCaseActionView.as_view(),
        name="weak_action",
    ),
]
