"""The four 三零 ledgers (矛盾纠纷, 信访, 事故和案件, 隐患排查), each declared once.

A `LedgerSpec` says what one ledger is: its model and names, the fields its services
write (and its API takes), its 登记 and 办理 forms, its list filters, its Excel columns and
its API route. One set of pages (views), API views, exports, forms, selectors and services
serves all four from it. What a ledger does differently (its status rules, the dispute
figures on its list page) stays in the layer it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from disputes.models import DEATHS, INJURIES, Dispute, HazardCheck, Incident, Petition


@dataclass(frozen=True)
class Column:
    """One column of a ledger's Excel export: its header and what it shows, an attribute
    of the record or a function of it. Choice fields show their label, yes/no values
    是/否, lists are joined with 、 and ID and phone numbers are masked for users who may
    not see them (exports.cell)."""

    header: str
    value: str | Callable
    width: int = 14


AREA = (
    Column("县(市、区)", lambda r: r.township.county.name),
    Column("乡镇(街道)", lambda r: r.township.name),
    Column("村(社区)", lambda r: r.village.name if r.village_id else ""),
    Column("企事业单位", lambda r: r.unit.name if r.unit_id else ""),
)


@dataclass(frozen=True)
class LedgerSpec:
    """One ledger. Built from it: forms.FORMS, HANDLE_FORMS and FILTERS;
    api.serializers.INPUT and OUTPUT; api.views.LEDGER_VIEWSETS; the export kinds
    (exports); and what services.ledger_* and selectors.ledger_* do for it."""

    key: str  # the URL segment, the API route and the export kind
    label: str  # the ledger's title
    noun: str  # what one row is
    model: type
    basename: str  # the API route's name
    date_field: str  # the ledger's own date: year and month filters, order of lists
    fields: tuple[str, ...]  # what the services write and the API takes, in the API's order
    form_fields: tuple[str, ...]  # the 登记 form (place fields besides)
    filter_fields: tuple[str, ...]  # choice filters offered on the list page
    export_title: str
    columns: tuple[Column, ...]
    api_tag: str
    ordering_fields: tuple[str, ...]  # API `ordering`: never an ID or phone number
    handle_fields: tuple[str, ...] = ()  # the 办理 form (none: the ledger has none)
    more_filters: tuple[str, ...] = ()  # choice filters of the API and exports only
    counts_for_sanling: bool = False  # the 三零 status of its date's year reads it
    form_extra: dict = field(default_factory=dict)  # 登记 form fields not made from the model
    api_input_extra: dict = field(default_factory=dict)  # API fields not made from the model
    api_output_extra: dict = field(default_factory=dict)  # read-only values besides the fields
    api_output_first: tuple[str, ...] = ()  # of those, the ones shown before the fields

    @property
    def export_kind(self) -> str:
        return self.key

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(c.width for c in self.columns)


# What is written when a dispute is found (排查), and the dates and notes of its 化解.
DISPUTE_FOUND = (
    "dispute_type",
    "source",
    "registered_on",
    "summary",
    "claim",
    "parties",
    "party_id_numbers",
    "party_phones",
    "people_involved",
    "risk_level",
    "responsible",
    "deadline",
    "method",
)
DISPUTE_STEPS = (
    "started_on",
    "resolved_on",
    "reported_on",
    "reported_to",
    "agreement_amount",
    "follow_up_on",
    "follow_up_note",
    "satisfaction",
)

DISPUTES = LedgerSpec(
    key="disputes",
    label="矛盾纠纷台账",
    noun="矛盾纠纷",
    model=Dispute,
    basename="dispute",
    date_field="registered_on",
    fields=(*DISPUTE_FOUND, "measures", "status", *DISPUTE_STEPS),
    form_fields=DISPUTE_FOUND,
    handle_fields=("status", "method", "measures", "responsible", "deadline", *DISPUTE_STEPS),
    filter_fields=("dispute_type", "status", "risk_level"),
    more_filters=("source",),
    export_title="矛盾纠纷排查化解台账",
    columns=(
        Column("编号", "number", width=22),
        *AREA,
        Column("排查日期", "registered_on"),
        Column("纠纷类型", "dispute_type"),
        Column("来源", "source"),
        Column("简要情况", "summary"),
        Column("诉求", "claim"),
        Column("当事人", "parties"),
        Column("当事人身份证号", "party_id_numbers"),
        Column("当事人联系电话", "party_phones"),
        Column("涉及人数", "people_involved"),
        Column("群体性", "is_collective"),
        Column("风险等级", "risk_level"),
        Column("化解责任人/单位", "responsible"),
        Column("化解时限", "deadline"),
        Column("化解方式", "method"),
        Column("化解措施", "measures"),
        Column("化解状态", "status"),
        Column("开始化解日期", "started_on"),
        Column("化解日期", "resolved_on"),
        Column("上报日期", "reported_on"),
        Column("上报/移交单位", "reported_to"),
        Column("协议金额(元)", "agreement_amount"),
        Column("回访日期", "follow_up_on"),
        Column("回访情况", "follow_up_note"),
        Column("群众满意度", "satisfaction"),
    ),
    api_tag="三零·矛盾纠纷",
    ordering_fields=("registered_on", "status", "risk_level", "dispute_type", "deadline", "id"),
    api_output_extra={
        "number": serializers.CharField(read_only=True, label="编号"),
        "is_collective": serializers.BooleanField(read_only=True, label="群体性"),
    },
    api_output_first=("number",),
)

# What is written when a petition is received (登记).
PETITION_RECEIVED = (
    "channel",
    "received_on",
    "petitioner_name",
    "is_anonymous",
    "petitioner_id_number",
    "petitioner_phone",
    "people_involved",
    "subject",
    "level_reached",
    "is_skip_level",
    "is_collective",
    "is_repeat",
    "handler",
)

PETITIONS = LedgerSpec(
    key="petitions",
    label="信访台账",
    noun="信访事项",
    model=Petition,
    basename="petition",
    date_field="received_on",
    counts_for_sanling=True,
    fields=(
        *PETITION_RECEIVED,
        "status",
        "accepted_on",
        "extended",
        "concluded_on",
        "result",
        "satisfaction",
    ),
    form_fields=PETITION_RECEIVED,
    handle_fields=(
        "status",
        "accepted_on",
        "extended",
        "concluded_on",
        "handler",
        "result",
        "satisfaction",
    ),
    filter_fields=("channel", "status", "level_reached"),
    export_title="信访事项台账",
    columns=(
        *AREA,
        Column("登记日期", "received_on"),
        Column("信访渠道", "channel"),
        Column(
            "信访人",
            lambda p: "匿名" if p.is_anonymous and not p.petitioner_name else p.petitioner_name,
        ),
        Column("信访人身份证号", "petitioner_id_number"),
        Column("信访人联系电话", "petitioner_phone"),
        Column("涉及人数", "people_involved"),
        Column("事由及诉求", "subject"),
        Column("信访层级", "level_reached"),
        Column("越级访", "is_skip_level"),
        Column("集体访", "is_collective"),
        Column("重复访", "is_repeat"),
        Column("承办人/单位", "handler"),
        Column("办理状态", "status"),
        Column("受理日期", "accepted_on"),
        Column("已延期", "extended"),
        Column("办理期限", "due_on"),
        Column("期限状态", "clock_label"),
        Column("办结日期", "concluded_on"),
        Column("处理意见/结果", "result"),
        Column("满意度", "satisfaction"),
    ),
    api_tag="三零·信访",
    ordering_fields=("received_on", "status", "level_reached", "channel", "accepted_on", "id"),
    api_output_extra={
        "due_on": serializers.DateField(
            read_only=True, allow_null=True, label="当前期限（已结束的为空）"
        ),
        "clock": serializers.CharField(read_only=True, label="期限状态"),
        "clock_label": serializers.CharField(read_only=True, label="期限状态（中文）"),
    },
)

INCIDENTS = LedgerSpec(
    key="incidents",
    label="安全事故和案件台账",
    noun="事故或案件",
    model=Incident,
    basename="incident",
    date_field="occurred_on",
    counts_for_sanling=True,
    fields=("kind", "occurred_on", "place", "summary", "deaths", "injuries", "source", "handling"),
    form_fields=("kind", "occurred_on", "place", "summary", "source", "handling"),
    form_extra={
        "deaths": DEATHS.form_field(label=_("死亡人数"), initial=0),
        "injuries": INJURIES.form_field(label=_("受伤人数"), initial=0),
    },
    filter_fields=("kind",),
    export_title="安全事故和案件台账",
    columns=(
        *AREA,
        Column("发生日期", "occurred_on"),
        Column("类别", "kind"),
        Column("发生地点", "place"),
        Column("简要情况", "summary"),
        Column("死亡人数", "deaths"),
        Column("受伤人数", "injuries"),
        Column("信息来源", "source"),
        Column("处置情况", "handling"),
    ),
    api_tag="三零·事故和案件",
    ordering_fields=("occurred_on", "kind", "deaths", "injuries", "id"),
    api_input_extra={
        "deaths": DEATHS.api_field(default=0),
        "injuries": INJURIES.api_field(default=0),
    },
)

HAZARDS = LedgerSpec(
    key="hazards",
    label="隐患排查台账",
    noun="隐患",
    model=HazardCheck,
    basename="hazard",
    date_field="checked_on",
    fields=(
        "site_type",
        "site_name",
        "checked_on",
        "hazard",
        "regulated_items",
        "responsible",
        "deadline",
        "status",
        "rectified_on",
        "note",
    ),
    form_fields=("site_type", "site_name", "checked_on", "hazard", "responsible", "deadline"),
    form_extra={
        "regulated_items": forms.MultipleChoiceField(
            label=_("涉及管控物品"),
            choices=HazardCheck.Regulated.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        ),
    },
    handle_fields=("status", "rectified_on", "responsible", "deadline", "note"),
    filter_fields=("site_type", "status"),
    export_title="隐患排查整改台账",
    columns=(
        *AREA,
        Column("排查日期", "checked_on"),
        Column("场所类型", "site_type"),
        Column("场所名称", "site_name"),
        Column("隐患内容", "hazard"),
        Column("涉及管控物品", "regulated_labels"),
        Column("整改责任人", "responsible"),
        Column("整改时限", "deadline"),
        Column("整改状态", "status"),
        Column("是否逾期", lambda h: "逾期" if h.is_overdue else ""),
        Column("整改完成日期", "rectified_on"),
        Column("整改情况", "note"),
    ),
    api_tag="三零·隐患排查",
    ordering_fields=("checked_on", "deadline", "status", "site_type", "id"),
    api_input_extra={
        "regulated_items": serializers.ListField(
            child=serializers.ChoiceField(choices=HazardCheck.Regulated.choices),
            required=False,
            label="涉及管控物品",
        ),
    },
)

LEDGERS: dict[str, LedgerSpec] = {s.key: s for s in (DISPUTES, PETITIONS, INCIDENTS, HAZARDS)}
BY_MODEL: dict[type, LedgerSpec] = {s.model: s for s in LEDGERS.values()}
