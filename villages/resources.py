"""django-import-export in the Django admin, running on the portal's own import pipeline.

The admin's import page hands us the raw upload (formats below keep the bytes, so title
rows, merged cells, GBK CSV and the rest are read by our reader, not by tablib). The
resource's `import_data` previews with `import_preview` and commits with
`import_job_run_now`, so the admin, the import pages and `import_roster` share one
pipeline, one set of messages and one ImportJob record per import.
"""

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.utils.html import format_html
from import_export import fields, resources
from import_export.formats import base_formats
from import_export.results import Error, Result, RowResult
from tablib import Dataset

from core.importing.engine import CHANGED, MOVED, NEW, get_kind
from villages.services import import_job_run_now, import_preview

IMPORT_TYPE = {
    NEW: RowResult.IMPORT_TYPE_NEW,
    CHANGED: RowResult.IMPORT_TYPE_UPDATE,
    MOVED: RowResult.IMPORT_TYPE_UPDATE,
}


def _raw_dataset(in_stream) -> Dataset:
    data = in_stream if isinstance(in_stream, bytes) else in_stream.encode("utf-8")
    dataset = Dataset(headers=["文件"])
    dataset.append([f"{len(data)} 字节"])
    dataset.raw_bytes = data
    return dataset


class RawXLSX(base_formats.XLSX):
    def create_dataset(self, in_stream):
        return _raw_dataset(in_stream)


class RawCSV(base_formats.CSV):
    """Bytes in, so a GBK file is decoded by our reader rather than failing as UTF-8."""

    def create_dataset(self, in_stream):
        return _raw_dataset(in_stream)

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"


IMPORT_FORMATS = [RawXLSX, RawCSV]


class PipelineResource(resources.Resource):
    sheet_kind = ""

    @classmethod
    def get_display_name(cls):
        return get_kind(cls.sheet_kind).label

    def get_user_visible_fields(self):
        return [
            fields.Field(attribute=c.key, column_name=c.header)
            for c in get_kind(self.sheet_kind).columns
        ]

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        user = kwargs.get("user")
        file_name = kwargs.get("file_name") or "upload.xlsx"
        data = getattr(dataset, "raw_bytes", None)
        result = Result()
        kind = get_kind(self.sheet_kind)
        result.diff_headers = ["行", "变化", *[c.header for c in kind.columns]]
        if data is None:
            result.append_base_error(Error(ValueError("请通过管理后台的导入页面上传文件。")))
            return result
        plan = import_preview(actor=user, kind=self.sheet_kind, data=data, filename=file_name)
        self._fill(result, plan)
        if dry_run or result.has_errors() or result.has_validation_errors():
            return result
        try:
            job = import_job_run_now(
                actor=user, kind=self.sheet_kind, upload=ContentFile(data, name=file_name)
            )
        except (ValidationError, PermissionDenied) as exc:
            result.append_base_error(
                Error(
                    ValueError("；".join(exc.messages if hasattr(exc, "messages") else [str(exc)]))
                )
            )
            return result
        if job.state != job.State.DONE:
            result.append_base_error(Error(ValueError(job.error or "导入失败")))
        return result

    def _fill(self, result: Result, plan) -> None:
        for issue in plan.issues:
            if not issue.row:
                result.append_base_error(Error(ValueError(issue.message)))
        by_row: dict[int, dict] = {}
        for issue in plan.issues:
            if issue.row:
                by_row.setdefault(issue.row, {}).setdefault(
                    issue.column or NON_FIELD_ERRORS, []
                ).append(issue.message)
        items = {i.row: i for i in plan.items}
        for row, errors in sorted(by_row.items()):
            item = items.get(row)
            values = {"行": row}
            if item is not None:
                values.update(
                    {
                        c.header: plan.kind.display(c.key, item.data.get(c.key))
                        for c in plan.kind.columns
                    }
                )
            result.append_invalid_row(row, values, ValidationError(errors))
        for item in plan.valid_items():
            row_result = RowResult()
            row_result.import_type = IMPORT_TYPE.get(item.status, RowResult.IMPORT_TYPE_SKIP)
            changes = "；".join(f"{k}：{v[0]} → {v[1]}" for k, v in item.changes.items())
            row_result.diff = [
                item.row,
                format_html("{}", changes or ("新增" if item.status == NEW else "无变化")),
                *[plan.kind.display(c.key, item.data.get(c.key)) for c in plan.kind.columns],
            ]
            result.append_row_result(row_result)
            result.increment_row_result_total(row_result)
        result.total_rows = len(plan.items)


class VillageRosterResource(PipelineResource):
    sheet_kind = "villages"


class CadreRosterResource(PipelineResource):
    sheet_kind = "cadres"
