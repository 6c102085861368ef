"""Visits and the problem ledger over REST. Every queryset comes from the visits selectors
(out-of-area objects answer 404) and every write goes through visits.services."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from villages.selectors import scope_for_user
from visits.api.filters import ProblemFilter, VisitFilter
from visits.api.serializers import (
    ProblemCreateSerializer,
    ProblemSerializer,
    ProblemUpdateSerializer,
    ReviewSerializer,
    VisitInputSerializer,
    VisitJsonInputSerializer,
    VisitJsonUpdateSerializer,
    VisitSerializer,
    VisitUpdateSerializer,
)
from visits.models import VisitEvent
from visits.selectors import problem_list_for_user, visit_list_for_user
from visits.services import (
    problem_submit,
    problem_update,
    visit_approve,
    visit_create,
    visit_return,
    visit_update,
)

NOT_FOUND = {404: OpenApiResponse(description="不存在，或不在您的管辖范围内")}
BAD_INPUT = {400: OpenApiResponse(description="字段错误：{字段: [中文说明]}")}
FORBIDDEN = {403: OpenApiResponse(description="无权进行此操作")}


class CadresCreateVisits(permissions.BasePermission):
    """Only a cadre with a cadre record logs visits; everyone else gets 403 before any
    field is looked at (visit_create checks the same again)."""

    message = "只有帮扶干部可以填报下沉记录。"

    def has_permission(self, request, view):
        if view.action != "create":
            return True
        scope = scope_for_user(request.user)
        return scope.is_cadre and bool(scope.cadre_id)


@extend_schema_view(
    list=extend_schema(summary="下沉记录列表（干部看自己的，审核人看辖区内的）"),
    retrieve=extend_schema(summary="单条下沉记录", responses={200: VisitSerializer, **NOT_FOUND}),
    create=extend_schema(
        summary="填报下沉记录（同一 client_uuid 只保存一次）",
        description=(
            "接受 JSON 或 multipart/form-data（表单中 activities、photos 可重复）。"
            "新建返回 201；该 client_uuid 已保存过则返回 200 和同一条记录。\n\n"
            "发现问题：problem_category 与 problem_description 为重复的键（JSON 中为两个"
            "等长的列表），第 n 个类别与第 n 段描述组成第 n 行，最多 5 行；每行登记为问题台账"
            "中一条来源于这条记录的问题，与记录同时保存。任何一行有误则整条记录不保存，"
            "错误在 problems 中指明行号（如“发现问题第2行：请填写问题描述。”）；"
            "重复提交同一 client_uuid 不会重复登记问题。"
        ),
        request={
            "application/json": VisitJsonInputSerializer,
            "multipart/form-data": VisitInputSerializer,
        },
        responses={
            201: OpenApiResponse(VisitSerializer, description="已新建"),
            200: OpenApiResponse(VisitSerializer, description="该编号已保存过，返回原记录"),
            **BAD_INPUT,
            **FORBIDDEN,
        },
    ),
    partial_update=extend_schema(
        summary=(
            "修改自己的下沉记录（待审核的记录填报 7 天内可改；被退回的记录不限时间，"
            "修改即重新提交；已通过的不能改）"
        ),
        request={
            "application/json": VisitJsonUpdateSerializer,
            "multipart/form-data": VisitUpdateSerializer,
        },
        responses={200: VisitSerializer, **BAD_INPUT, **FORBIDDEN, **NOT_FOUND},
    ),
)
class VisitViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = VisitSerializer
    filterset_class = VisitFilter
    permission_classes = [permissions.IsAuthenticated, CadresCreateVisits]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    ordering_fields = ["date", "created_at"]
    ordering = ["-date", "-id"]

    def get_queryset(self):
        return visit_list_for_user(user=self.request.user).prefetch_related(
            "photos", Prefetch("events", queryset=VisitEvent.objects.select_related("actor"))
        )

    def _answer(self, visit, *, code=status.HTTP_200_OK) -> Response:
        visit = self.get_queryset().get(pk=visit.pk)
        return Response(self.get_serializer(visit).data, status=code)

    def create(self, request, *args, **kwargs):
        incoming = VisitInputSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        fields = dict(incoming.validated_data)
        photos = fields.pop("photos", [])
        visit, created = visit_create(actor=request.user, photos=photos, **fields)
        if not created:
            return self._answer(visit)
        # A new visit is answered from what visit_create just wrote (its village, cadre,
        # photos and submit event are loaded on it): no second read.
        return Response(self.get_serializer(visit).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        visit = self.get_object()
        incoming = VisitUpdateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        fields = dict(incoming.validated_data)
        photos = fields.pop("photos", [])
        return self._answer(visit_update(actor=request.user, visit=visit, photos=photos, **fields))

    @extend_schema(
        summary="审核通过",
        request=ReviewSerializer,
        responses={200: VisitSerializer, **BAD_INPUT, **FORBIDDEN, **NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        visit = self.get_object()
        incoming = ReviewSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        visit = visit_approve(actor=request.user, visit=visit, **incoming.validated_data)
        return self._answer(visit)

    @extend_schema(
        summary="退回（须写明原因）",
        request=ReviewSerializer,
        responses={200: VisitSerializer, **BAD_INPUT, **FORBIDDEN, **NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_visit(self, request, pk=None):
        visit = self.get_object()
        incoming = ReviewSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        visit = visit_return(actor=request.user, visit=visit, **incoming.validated_data)
        return self._answer(visit)


@extend_schema_view(
    list=extend_schema(summary="问题台账（按管辖范围过滤）"),
    retrieve=extend_schema(summary="单个问题", responses={200: ProblemSerializer, **NOT_FOUND}),
    create=extend_schema(
        summary="登记问题（同一 client_uuid 只登记一次）",
        description=(
            "新建返回 201；该 client_uuid 已登记过则返回 200 和同一个问题"
            "（离线队列重发时不会重复登记）。"
        ),
        request={"application/json": ProblemCreateSerializer},
        responses={
            201: OpenApiResponse(ProblemSerializer, description="已新建"),
            200: OpenApiResponse(ProblemSerializer, description="该编号已登记过，返回原问题"),
            **BAD_INPUT,
            **FORBIDDEN,
        },
    ),
    partial_update=extend_schema(
        summary="办理问题（待办 → 办理中 → 已办结 / 无法办结已解释）",
        request=ProblemUpdateSerializer,
        responses={200: ProblemSerializer, **BAD_INPUT, **FORBIDDEN, **NOT_FOUND},
    ),
)
class ProblemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ProblemSerializer
    filterset_class = ProblemFilter
    # JSON only: the offline queue (static/js/queue-send.js) sends a problem as JSON (it
    # has no files); a form body would turn the schema's nulls into the text "null"
    parser_classes = [JSONParser]
    ordering_fields = ["created_at", "deadline", "status"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return problem_list_for_user(user=self.request.user)

    def _answer(self, problem, *, code=status.HTTP_200_OK) -> Response:
        # a resent problem the user can no longer see (moved out of their area) is a 404
        problem = get_object_or_404(self.get_queryset(), pk=problem.pk)
        return Response(self.get_serializer(problem).data, status=code)

    def create(self, request, *args, **kwargs):
        incoming = ProblemCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        fields = dict(incoming.validated_data)
        client_uuid = fields.pop("client_uuid", None)
        problem, created = problem_submit(actor=request.user, client_uuid=client_uuid, **fields)
        return self._answer(
            problem, code=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def partial_update(self, request, *args, **kwargs):
        problem = self.get_object()
        incoming = ProblemUpdateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        problem = problem_update(actor=request.user, problem=problem, **incoming.validated_data)
        return self._answer(problem)
