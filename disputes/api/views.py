"""The 三零 ledgers, units, 零报告 and yearly statuses over REST. Every queryset comes from
the disputes selectors (out-of-area objects answer 404) and every write goes through
disputes.services."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from disputes import selectors, services
from disputes.api import serializers as s
from disputes.api.filters import StatusFilter
from disputes.forms import FILTERS, UnitFilter
from disputes.ledgers import LEDGERS, LedgerSpec
from villages.selectors import village_get_for_user

# A record placed in a village, unit or township outside the user's area: 404, as if the
# place did not exist.
PLACE_NOT_FOUND = {
    404: OpenApiResponse(description="村(社区)、单位或乡镇不存在，或不在您的管辖范围内")
}


def _writes(incoming, output):
    """Document the writes with what they read (`incoming`) and answer (`output`): the
    viewset's own serializer is the read-only output, which alone would document no
    request body at all."""
    return extend_schema_view(
        create=extend_schema(request=incoming, responses={201: output, **PLACE_NOT_FOUND}),
        update=extend_schema(request=incoming, responses={200: output}),
        partial_update=extend_schema(request=incoming, responses={200: output}),
    )


class LedgerViewSet(viewsets.ModelViewSet):
    """List, read, create, change (PUT/PATCH) and delete one ledger's rows. `ordering`
    takes only the listed fields: never the ID or phone numbers, whose order would tell
    a user who sees them masked something about them."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    ledger: LedgerSpec
    input_serializer = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # the schema generator only needs the model: the selector reads the 三零 rules
            return self.ledger.model.objects.none()
        return selectors.ledger_list_for_user(user=self.request.user, ledger=self.ledger)

    def _answer(self, obj, code=status.HTTP_200_OK):
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(self.get_serializer(obj).data, status=code)

    def create(self, request, *args, **kwargs):
        incoming = self.input_serializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        obj = services.ledger_create(
            actor=request.user, ledger=self.ledger, **incoming.validated_data
        )
        return self._answer(obj, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        obj = self.get_object()
        incoming = self.input_serializer(
            data=request.data,
            partial=kwargs.get("partial", False),
            context=self.get_serializer_context(),
        )
        incoming.is_valid(raise_exception=True)
        obj = services.ledger_update(actor=request.user, record=obj, **incoming.validated_data)
        return self._answer(obj)

    def destroy(self, request, *args, **kwargs):
        services.ledger_delete(actor=request.user, record=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


def _ledger_viewset(ledger: LedgerSpec) -> type[LedgerViewSet]:
    output, incoming = s.OUTPUT[ledger.key], s.INPUT[ledger.key]
    viewset = type(
        f"{ledger.basename.title()}ViewSet",
        (LedgerViewSet,),
        {
            "ledger": ledger,
            "serializer_class": output,
            "input_serializer": incoming,
            "filterset_class": FILTERS[ledger.key],
            "ordering": [f"-{ledger.date_field}", "-id"],
            "ordering_fields": list(ledger.ordering_fields),
        },
    )
    return extend_schema(tags=[ledger.api_tag])(_writes(incoming, output)(viewset))


LEDGER_VIEWSETS = {key: _ledger_viewset(ledger) for key, ledger in LEDGERS.items()}


@extend_schema(tags=["三零·企事业单位"])
@_writes(s.UnitInputSerializer, s.UnitSerializer)
class UnitViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.UnitSerializer
    filterset_class = UnitFilter
    ordering = ["township__code", "name"]

    def get_queryset(self):
        return selectors.unit_list_for_user(user=self.request.user)

    def _answer(self, unit, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=unit.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        incoming = s.UnitInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        return self._answer(
            services.unit_create(actor=request.user, **incoming.validated_data),
            status.HTTP_201_CREATED,
        )

    def update(self, request, *args, **kwargs):
        unit = self.get_object()
        incoming = s.UnitInputSerializer(data=request.data, partial=kwargs.get("partial", False))
        incoming.is_valid(raise_exception=True)
        return self._answer(
            services.unit_update(actor=request.user, unit=unit, **incoming.validated_data)
        )


@extend_schema(tags=["三零·零报告"])
@extend_schema_view(
    create=extend_schema(responses={201: s.ZeroReportSerializer, **PLACE_NOT_FOUND})
)
class ZeroReportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.ZeroReportSerializer
    ordering = ["-month", "village__code"]

    def get_queryset(self):
        return selectors.zero_report_list_for_user(user=self.request.user)

    def create(self, request, *args, **kwargs):
        incoming = self.get_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        report = services.zero_report_create(actor=request.user, **incoming.validated_data)
        return Response(self.get_serializer(report).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.zero_report_delete(actor=request.user, report=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["三零·年度状态"])
class StatusViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Yearly 三零 statuses (rows exist for subjects that were computed; a roster village
    with no row is 达标). `override` sets or lifts the manual 认定 (reason required)."""

    serializer_class = s.StatusSerializer
    filterset_class = StatusFilter
    ordering = ["-year", "id"]

    def get_queryset(self):
        return selectors.status_list_for_user(user=self.request.user)

    @extend_schema(summary="人工认定（达标/不达标/撤销），须写明理由", request=s.OverrideSerializer)
    @action(detail=True, methods=["post"])
    def override(self, request, pk=None):
        current = self.get_object()
        incoming = s.OverrideSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        updated = services.sanling_override_set(
            actor=request.user,
            year=current.year,
            village=current.village,
            unit=current.unit,
            value=incoming.validated_data["override"],
            reason=incoming.validated_data["reason"],
        )
        return Response(self.get_serializer(updated).data)

    @extend_schema(
        summary="按年度和村(社区)或单位进行人工认定（尚无状态记录时也可用），须写明理由",
        request=s.SubjectOverrideSerializer,
        responses={200: s.StatusSerializer, **PLACE_NOT_FOUND},
    )
    @action(detail=False, methods=["post"], url_path="set-override")
    def set_override(self, request):
        incoming = s.SubjectOverrideSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        village, unit = data.pop("village", None), data.pop("unit", None)
        data["value"] = data.pop("override")
        if village is not None:
            village = village_get_for_user(user=request.user, village_id=village.pk)
        if unit is not None:
            unit = selectors.unit_get_for_user(user=request.user, pk=unit.pk)
        updated = services.sanling_override_set(
            actor=request.user, village=village, unit=unit, **data
        )
        return Response(self.get_serializer(updated).data)
