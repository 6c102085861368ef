"""Read endpoints for the hierarchy and people, plus background exports. Every queryset
comes from the scoping selectors, so out-of-area objects answer 404."""

from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from villages.api.serializers import (
    AssignmentSerializer,
    BranchSerializer,
    CadreSerializer,
    CountySerializer,
    ExportJobCreateSerializer,
    ExportJobSerializer,
    TownshipSerializer,
    VillageSerializer,
)
from villages.filters import AssignmentFilter, CadreFilter, TownshipFilter, VillageFilter
from villages.selectors import (
    assignment_list_for_user,
    branch_list_for_user,
    cadre_list_for_user,
    county_list_for_user,
    export_job_list_for_user,
    township_list_for_user,
    village_list_for_user,
)
from villages.services import export_job_create

NOT_FOUND = {404: OpenApiResponse(description="不存在，或不在您的管辖范围内")}


def _scoped(summary: str, serializer):
    return extend_schema_view(
        list=extend_schema(summary=f"{summary}（按管辖范围过滤）"),
        retrieve=extend_schema(summary=f"单个{summary}", responses={200: serializer, **NOT_FOUND}),
    )


class ScopedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    selector = None

    def get_queryset(self):
        return type(self).selector(user=self.request.user)


@_scoped("县(市、区)", CountySerializer)
class CountyViewSet(ScopedReadOnlyViewSet):
    selector = staticmethod(county_list_for_user)
    serializer_class = CountySerializer
    ordering_fields = ["code", "name"]
    ordering = ["code"]


@_scoped("乡镇(街道)", TownshipSerializer)
class TownshipViewSet(ScopedReadOnlyViewSet):
    selector = staticmethod(township_list_for_user)
    serializer_class = TownshipSerializer
    filterset_class = TownshipFilter
    ordering_fields = ["code", "name"]
    ordering = ["code"]


@_scoped("村(社区)", VillageSerializer)
class VillageViewSet(ScopedReadOnlyViewSet):
    selector = staticmethod(village_list_for_user)
    serializer_class = VillageSerializer
    filterset_class = VillageFilter
    ordering_fields = ["code", "name"]
    ordering = ["code"]


@_scoped("村(社区)党组织", BranchSerializer)
class BranchViewSet(ScopedReadOnlyViewSet):
    selector = staticmethod(branch_list_for_user)
    serializer_class = BranchSerializer
    ordering_fields = ["code", "name"]
    ordering = ["code"]


@_scoped("帮扶干部", CadreSerializer)
class CadreViewSet(ScopedReadOnlyViewSet):
    selector = staticmethod(cadre_list_for_user)
    serializer_class = CadreSerializer
    filterset_class = CadreFilter
    ordering_fields = ["name", "phone"]
    ordering = ["name", "id"]


@_scoped("联系点安排", AssignmentSerializer)
class AssignmentViewSet(ScopedReadOnlyViewSet):
    selector = staticmethod(assignment_list_for_user)
    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilter
    ordering_fields = ["year", "start_date"]
    ordering = ["-year", "id"]


@extend_schema_view(
    list=extend_schema(summary="我的导出任务"),
    retrieve=extend_schema(
        summary="导出任务进度", responses={200: ExportJobSerializer, **NOT_FOUND}
    ),
    create=extend_schema(
        summary="新建导出任务（后台生成 Excel）",
        request=ExportJobCreateSerializer,
        responses={201: ExportJobSerializer},
    ),
)
class ExportJobViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ExportJobSerializer
    filter_backends = []

    def get_queryset(self):
        return export_job_list_for_user(user=self.request.user)

    def create(self, request, *args, **kwargs):
        incoming = ExportJobCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        job = export_job_create(actor=request.user, **incoming.validated_data)
        job.refresh_from_db()
        data = ExportJobSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="下载导出的 Excel",
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes,
            **NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        job = self.get_object()
        if not job.file:
            raise Http404("导出文件尚未生成。")
        name = job.file.name.rsplit("/", 1)[-1]
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=name)
