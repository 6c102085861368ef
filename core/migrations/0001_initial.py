"""The job tables move from villages to core without a copy: villages made them (they keep
their names, `db_table`), this migration only tells Django's state that core owns them
now, and villages 0012 that villages no longer does. The content types (and with them
permissions and admin log entries) are handed over too."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MODELS = ("exportjob", "importjob", "pendingtask")


def _move_content_types(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def hand_over_content_types(apps, schema_editor):
    _move_content_types(apps, "villages", "core")


def take_back_content_types(apps, schema_editor):
    _move_content_types(apps, "core", "villages")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('villages', '0011_user_history_village_ranges'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='PendingTask',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('key', models.CharField(max_length=64, unique=True, verbose_name='任务摘要')),
                    ('task', models.CharField(max_length=200, verbose_name='任务')),
                    ('args', models.JSONField(blank=True, default=list, verbose_name='位置参数')),
                    ('kwargs', models.JSONField(blank=True, default=dict, verbose_name='参数')),
                    ('queue', models.CharField(blank=True, max_length=100, verbose_name='队列')),
                    ('attempts', models.PositiveIntegerField(default=1, verbose_name='排队失败次数')),
                    ('last_error', models.TextField(blank=True, verbose_name='最近一次错误')),
                    ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='首次失败时间')),
                    ('updated_at', models.DateTimeField(auto_now=True, verbose_name='最近失败时间')),
                ],
                options={
                    'verbose_name': '待排队的后台任务',
                    'verbose_name_plural': '待排队的后台任务',
                    'db_table': 'villages_pendingtask',
                    'ordering': ['pk'],
                },
            ),
            migrations.CreateModel(
                name='ExportJob',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(max_length=40, verbose_name='导出类型')),
                    ('params', models.JSONField(blank=True, default=dict, verbose_name='筛选条件')),
                    ('state', models.CharField(choices=[('pending', '排队中'), ('running', '生成中'), ('done', '已完成'), ('failed', '失败')], default='pending', max_length=10, verbose_name='状态')),
                    ('progress', models.PositiveSmallIntegerField(default=0, verbose_name='进度(%)')),
                    ('row_count', models.PositiveIntegerField(default=0, verbose_name='行数')),
                    ('file', models.FileField(blank=True, upload_to='exports/%Y/%m/', verbose_name='文件')),
                    ('error', models.TextField(blank=True, verbose_name='错误信息')),
                    ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='创建时间')),
                    ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='完成时间')),
                    ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='export_jobs', to=settings.AUTH_USER_MODEL, verbose_name='发起人')),
                ],
                options={
                    'verbose_name': '导出任务',
                    'verbose_name_plural': '导出任务',
                    'db_table': 'villages_exportjob',
                    'ordering': ['-created_at'],
                },
            ),
            migrations.CreateModel(
                name='ImportJob',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(max_length=40, verbose_name='导入类型')),
                    ('file', models.FileField(upload_to='imports/%Y/%m/', verbose_name='上传文件')),
                    ('original_name', models.CharField(max_length=200, verbose_name='原文件名')),
                    ('state', models.CharField(choices=[('validating', '校验中'), ('previewed', '待确认'), ('committing', '导入中'), ('done', '已完成'), ('failed', '失败'), ('cancelled', '已取消')], max_length=12, verbose_name='状态')),
                    ('valid_only', models.BooleanField(default=False, verbose_name='只导入无误的行')),
                    ('summary', models.JSONField(blank=True, default=dict, verbose_name='摘要')),
                    ('preview', models.JSONField(blank=True, default=dict, verbose_name='预览')),
                    ('error', models.TextField(blank=True, verbose_name='失败原因')),
                    ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='上传时间')),
                    ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
                    ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='本步开始时间')),
                    ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='本步尝试次数')),
                    ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='完成时间')),
                    ('annotated', models.FileField(blank=True, upload_to='imports/%Y/%m/', verbose_name='错误标注工作簿')),
                    ('annotated_state', models.CharField(blank=True, choices=[('pending', '生成中'), ('done', '已生成'), ('failed', '生成失败')], max_length=10, verbose_name='错误标注工作簿状态')),
                    ('cancelled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='取消人')),
                    ('county', models.ForeignKey(blank=True, help_text='县级干部导入时，只允许本县的数据。', null=True, on_delete=django.db.models.deletion.PROTECT, to='villages.county', verbose_name='限定县(市、区)')),
                    ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='import_jobs', to=settings.AUTH_USER_MODEL, verbose_name='导入人')),
                ],
                options={
                    'verbose_name': '导入记录',
                    'verbose_name_plural': '导入记录',
                    'db_table': 'villages_importjob',
                    'ordering': ['-created_at'],
                    'constraints': [models.UniqueConstraint(condition=models.Q(('county__isnull', False), ('state__in', ['validating', 'committing'])), fields=('kind', 'county'), name='import_job_one_running_per_kind_county', violation_error_message='已有一个同类导入正在进行，请等它完成后再试。'), models.UniqueConstraint(condition=models.Q(('county__isnull', True), ('state__in', ['validating', 'committing'])), fields=('kind',), name='import_job_one_city_wide_running_per_kind', violation_error_message='已有一个同类导入正在进行，请等它完成后再试。')],
                },
            ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(hand_over_content_types, take_back_content_types),
    ]
