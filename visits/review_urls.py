from django.urls import path

from visits import map_views
from visits import review_views as views

app_name = "review"

urlpatterns = [
    path("visits/review/", views.ReviewListView.as_view(), name="visit_list"),
    path(
        "visits/review/approve/", views.ReviewBulkApproveView.as_view(), name="visit_bulk_approve"
    ),
    path("visits/review/return/", views.ReviewBulkReturnView.as_view(), name="visit_bulk_return"),
    path("visits/<int:pk>/approve/", views.VisitApproveView.as_view(), name="visit_approve"),
    path("visits/<int:pk>/return/", views.VisitReturnView.as_view(), name="visit_return"),
    path("visits/map/", map_views.VisitMapView.as_view(), name="visit_map"),
    path("visits/compliance/", views.ComplianceView.as_view(), name="compliance"),
    path("visits/compliance/rule/", views.WorkdayRuleSetView.as_view(), name="rule_set"),
]
