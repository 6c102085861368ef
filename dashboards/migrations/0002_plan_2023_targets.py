"""The 2023 plan's targets (DESIGN.md §1), as data. Never overwrites an edited target."""

from django.db import migrations

PLAN_2023 = [
    ("sanling_village_rate", "gte", 80, "", False, "全市 2,529 个村(社区)的 80% 以上达到“三零”标准"),
    ("sanling_unit_rate", "gte", 90, "", False, "省定目标：企事业单位 90% 以上达到“三零”标准"),
    ("three_star_plus_rate", "gte", 50, "", False, "三星及以上党组织占比达到 50% 以上"),
    ("five_star_count", "about", 60, "city", False, "创成五星支部 60 个左右"),
    ("weak_branch_open", "eq", 0, "", False, "65 个软弱涣散村党组织年底前全部销号"),
    ("branches_rated", "gte", 2462, "city", False, "2,462 个村(社区)党组织全部完成一至五星创建"),
    ("dispute_resolution_rate", "gte", 97, "", True, "参考 2022 年化解率 97%"),
    ("workday_compliance_rate", "gte", 100, "", False, "帮扶干部每月到联系点工作不少于规定天数"),
]


def seed(apps, schema_editor):
    Target = apps.get_model("dashboards", "Target")
    for code, comparison, threshold, level, reference, note in PLAN_2023:
        Target.objects.get_or_create(
            year=2023,
            indicator=code,
            area_level=level,
            defaults={
                "comparison": comparison,
                "threshold": threshold,
                "is_reference": reference,
                "note": note,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
