"""The indicators and area levels the dashboards know, as plain choices: the models, the
indicator specs (dashboards.indicators) and the pages all read them here, so that none
of them imports another that imports it back."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Indicator(models.TextChoices):
    SANLING_VILLAGE_RATE = "sanling_village_rate", _("三零村(社区)达标率")
    SANLING_UNIT_RATE = "sanling_unit_rate", _("三零企事业单位达标率")
    THREE_STAR_PLUS_RATE = "three_star_plus_rate", _("三星及以上党组织占比")
    FIVE_STAR_COUNT = "five_star_count", _("五星党组织")
    WEAK_BRANCH_OPEN = "weak_branch_open", _("软弱涣散党组织未销号")
    BRANCHES_RATED = "branches_rated", _("完成创建党组织(一星以上)")
    DISPUTE_RESOLUTION_RATE = "dispute_resolution_rate", _("矛盾纠纷化解率")
    WORKDAY_COMPLIANCE_RATE = "workday_compliance_rate", _("双十工作日达标率")
    PROBLEM_RESOLUTION_RATE = "problem_resolution_rate", _("问题办结率")
    VISITS = "visits", _("下沉走访(次)")
    MEETINGS = "meetings", _("召开座谈会(场)")
    PEOPLE_VISITED = "people_visited", _("走访群众(人次)")
    PROBLEMS_SOLVED = "problems_solved", _("解决问题(件)")


class AreaLevel(models.TextChoices):
    CITY = "city", _("市")
    COUNTY = "county", _("县(市、区)")
    TOWNSHIP = "township", _("乡镇(街道)")
