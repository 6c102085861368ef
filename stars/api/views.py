"""Star types, awards (with the workflow actions) and 软弱涣散 cases over REST. Every
queryset comes from the stars selectors (out-of-area objects answer 404) and every write
goes through stars.services."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from stars import services
from stars.api.filters import StarAwardFilter, WeakCaseFilter
from stars.api.serializers import (
    AcceptSerializer,
    ApplySerializer,
    PublicizeSerializer,
    RectifySerializer,
    RejectSerializer,
    ReopenSerializer,
    StarAwardSerializer,
    StarTypeSerializer,
    StepSerializer,
    WeakCaseCreateSerializer,
    WeakCaseSerializer,
    WithdrawSerializer,
)
from stars.models import StarAwardEvent
from stars.selectors import (
    award_list_for_user,
    locked_year_set,
    star_type_list,
    weak_case_list_for_user,
)

NOT_FOUND = {404: OpenApiResponse(description="不存在，或不在您的管辖范围内")}
BAD_INPUT = {400: OpenApiResponse(description="字段错误或环节不对：{字段: [中文说明]}")}
FORBIDDEN = {403: OpenApiResponse(description="不是您的角色或辖区")}
STEP_RESPONSES = {200: StarAwardSerializer, **BAD_INPUT, **FORBIDDEN, **NOT_FOUND}


@extend_schema_view(
    list=extend_schema(summary="星级类型（农村、城市社区两套方案）及其重点任务"),
    retrieve=extend_schema(
        summary="单个星级类型", responses={200: StarTypeSerializer, **NOT_FOUND}
    ),
)
class StarTypeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StarTypeSerializer
    pagination_class = None

    def get_queryset(self):
        return star_type_list()


@extend_schema_view(
    list=extend_schema(summary="星级评定（按管辖范围过滤）"),
    retrieve=extend_schema(
        summary="单项星级评定及其环节记录", responses={200: StarAwardSerializer, **NOT_FOUND}
    ),
    create=extend_schema(
        summary="申报（乡镇(街道)干部代党组织申报）",
        request=ApplySerializer,
        responses={201: StarAwardSerializer, **BAD_INPUT, **FORBIDDEN},
    ),
)
class StarAwardViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = StarAwardSerializer
    filterset_class = StarAwardFilter
    ordering_fields = ["year", "state", "updated_at"]
    ordering = ["-year", "branch__code", "star_type__order"]

    def get_queryset(self):
        return award_list_for_user(user=self.request.user).prefetch_related(
            Prefetch("events", queryset=StarAwardEvent.objects.select_related("actor"))
        )

    def get_serializer_context(self):
        ctx = super().get_serializer_context()
        ctx["locked_years"] = locked_year_set()
        return ctx

    def _answer(self, award, *, code=status.HTTP_200_OK) -> Response:
        award = self.get_queryset().get(pk=award.pk)
        return Response(self.get_serializer(award).data, status=code)

    def create(self, request, *args, **kwargs):
        incoming = ApplySerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        award = services.award_apply(actor=request.user, **incoming.validated_data)
        return self._answer(award, code=status.HTTP_201_CREATED)

    def _step(self, request, service, serializer_class):
        award = self.get_object()
        incoming = serializer_class(data=request.data)
        incoming.is_valid(raise_exception=True)
        result = service(actor=request.user, award=award, **incoming.validated_data)
        return self._answer(result[0] if isinstance(result, list) else result)

    @extend_schema(summary="乡镇初审通过", request=StepSerializer, responses=STEP_RESPONSES)
    @action(detail=True, methods=["post"], url_path="township-review")
    def township_review(self, request, pk=None):
        return self._step(request, services.award_township_review, StepSerializer)

    @extend_schema(summary="县级评定通过", request=StepSerializer, responses=STEP_RESPONSES)
    @action(detail=True, methods=["post"], url_path="county-rate")
    def county_rate(self, request, pk=None):
        return self._step(request, services.award_county_rate, StepSerializer)

    @extend_schema(
        summary="公示（自办理当天起，公示期天数见规则设置；不能倒填开始日期）",
        request=PublicizeSerializer,
        responses=STEP_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def publicize(self, request, pk=None):
        return self._step(request, services.award_publicize, PublicizeSerializer)

    @extend_schema(
        summary="授星（公示期满、且公示期间未被不予通过）",
        request=StepSerializer,
        responses=STEP_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def award(self, request, pk=None):
        return self._step(request, services.award_grant, StepSerializer)

    @extend_schema(
        summary="不予通过（须写明原因）", request=RejectSerializer, responses=STEP_RESPONSES
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._step(request, services.award_reject, RejectSerializer)

    @extend_schema(
        summary="摘星（须写明原因）", request=WithdrawSerializer, responses=STEP_RESPONSES
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._step(request, services.award_withdraw, WithdrawSerializer)


@extend_schema_view(
    list=extend_schema(summary="软弱涣散村党组织（按管辖范围过滤）"),
    retrieve=extend_schema(
        summary="单个软弱涣散村党组织", responses={200: WeakCaseSerializer, **NOT_FOUND}
    ),
    create=extend_schema(
        summary="认定软弱涣散村党组织",
        request=WeakCaseCreateSerializer,
        responses={201: WeakCaseSerializer, **BAD_INPUT, **FORBIDDEN},
    ),
)
class WeakCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = WeakCaseSerializer
    filterset_class = WeakCaseFilter
    ordering_fields = ["identified_on", "year", "status"]
    ordering = ["-year", "identified_on", "id"]

    def get_queryset(self):
        return weak_case_list_for_user(user=self.request.user)

    def _answer(self, case, *, code=status.HTTP_200_OK) -> Response:
        case = self.get_queryset().get(pk=case.pk)
        return Response(self.get_serializer(case).data, status=code)

    def create(self, request, *args, **kwargs):
        incoming = WeakCaseCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        incoming.is_valid(raise_exception=True)
        case = services.weak_case_identify(actor=request.user, **incoming.validated_data)
        return self._answer(case, code=status.HTTP_201_CREATED)

    def _act(self, request, service, serializer_class):
        case = self.get_object()
        incoming = serializer_class(data=request.data)
        incoming.is_valid(raise_exception=True)
        return self._answer(service(actor=request.user, case=case, **incoming.validated_data))

    @extend_schema(
        summary="制定整顿方案、开始整顿",
        request=RectifySerializer,
        responses={200: WeakCaseSerializer, **BAD_INPUT, **FORBIDDEN, **NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def rectify(self, request, pk=None):
        return self._act(request, services.weak_case_rectify, RectifySerializer)

    @extend_schema(
        summary="验收销号",
        request=AcceptSerializer,
        responses={200: WeakCaseSerializer, **BAD_INPUT, **FORBIDDEN, **NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._act(request, services.weak_case_accept, AcceptSerializer)

    @extend_schema(
        summary="重新整顿",
        request=ReopenSerializer,
        responses={200: WeakCaseSerializer, **BAD_INPUT, **FORBIDDEN, **NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._act(request, services.weak_case_reopen, ReopenSerializer)
