"""factory_boy factories for the 三零 ledgers (rows written directly, no services: for
selector and export tests). Place a row with `village=`; the township follows."""

import datetime

import factory
from factory.django import DjangoModelFactory

from disputes.models import Dispute, HazardCheck, Incident, Petition, SanlingRule, ThreeZeroUnit

D = datetime.date


class _Placed(DjangoModelFactory):
    class Meta:
        abstract = True

    village = None
    unit = None
    township = factory.LazyAttribute(lambda o: o.village.township if o.village else o.unit.township)


class UnitFactory(DjangoModelFactory):
    class Meta:
        model = ThreeZeroUnit

    name = factory.Sequence(lambda n: f"测试单位{n}")
    unit_type = ThreeZeroUnit.Type.SCHOOL
    village = None
    township = factory.LazyAttribute(lambda o: o.village.township)
    year_from = 2022


class DisputeFactory(_Placed):
    class Meta:
        model = Dispute

    dispute_type = Dispute.Type.NEIGHBOUR
    source = Dispute.Source.SCREENING
    registered_on = D(2024, 3, 5)
    summary = "两户因排水沟走向发生争执"
    parties = "张三、李四"
    party_id_numbers = "411024199001011234"
    party_phones = "13812345678"
    people_involved = 2
    risk_level = Dispute.Risk.YELLOW
    responsible = "村调委会"


class PetitionFactory(_Placed):
    class Meta:
        model = Petition

    channel = Petition.Channel.VISIT
    received_on = D(2024, 3, 5)
    petitioner_name = "王五"
    petitioner_id_number = "411024198502023456"
    petitioner_phone = "13900001111"
    subject = "反映宅基地审批问题"
    level_reached = Petition.Level.TOWNSHIP


class IncidentFactory(_Placed):
    class Meta:
        model = Incident

    kind = Incident.Kind.FIRE
    occurred_on = D(2024, 3, 5)
    place = "村东"
    summary = "柴草堆起火"
    source = Incident.Source.EMERGENCY


class HazardFactory(_Placed):
    class Meta:
        model = HazardCheck

    site_type = HazardCheck.SiteType.SCHOOL
    site_name = "村小学"
    checked_on = D(2024, 3, 5)
    hazard = "灭火器过期"
    responsible = "赵六"
    deadline = D(2024, 3, 20)


BASE_RULE_DAY = D(2000, 1, 1)  # the migration's default rule


def set_rule(effective_from: datetime.date = BASE_RULE_DAY, **fields) -> SanlingRule:
    """The 三零 rule from `effective_from` on, with `fields` changed from the defaults
    (written directly; the service and its checks are tested in test_sanling_rules.py)."""
    rule = SanlingRule.objects.filter(effective_from=effective_from).first()
    rule = rule or SanlingRule(effective_from=effective_from)
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    return rule
