from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class PortalPagination(PageNumberPagination):
    """Pages of 50, or `page_size` (1–500) of them. A `page_size` that is not a whole number
    in that range answers 400 naming it (DRF falls back to 50 without a word); a page past
    the end, or not a number, answers 404 as in DRF; an empty one is the first."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    page_size_message = f"每页条数应为 1 到 {max_page_size} 之间的整数。"
    # the page is a number, as the schema says (DRF also takes "last")
    last_page_strings = ()

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise ValidationError({self.page_size_query_param: [self.page_size_message]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters
