"""Imports: one running import per kind *and area* (a county's import no longer waits for
another county's; a city-wide one still conflicts with all), who cancelled a job, and the
annotated error workbook built by its own background step."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("villages", "0009_installation_id"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="importjob",
            name="import_job_one_running_per_kind",
        ),
        migrations.AddConstraint(
            model_name="importjob",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("county__isnull", False), ("state__in", ["validating", "committing"])
                ),
                fields=("kind", "county"),
                name="import_job_one_running_per_kind_county",
                violation_error_message="已有一个同类导入正在进行，请等它完成后再试。",
            ),
        ),
        migrations.AddConstraint(
            model_name="importjob",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("county__isnull", True), ("state__in", ["validating", "committing"])
                ),
                fields=("kind",),
                name="import_job_one_city_wide_running_per_kind",
                violation_error_message="已有一个同类导入正在进行，请等它完成后再试。",
            ),
        ),
        migrations.AddField(
            model_name="importjob",
            name="cancelled_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="取消人",
            ),
        ),
        migrations.AddField(
            model_name="importjob",
            name="annotated",
            field=models.FileField(
                blank=True, upload_to="imports/%Y/%m/", verbose_name="错误标注工作簿"
            ),
        ),
        migrations.AddField(
            model_name="importjob",
            name="annotated_state",
            field=models.CharField(
                blank=True,
                choices=[("pending", "生成中"), ("done", "已生成"), ("failed", "生成失败")],
                max_length=10,
                verbose_name="错误标注工作簿状态",
            ),
        ),
    ]
