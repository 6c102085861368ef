"""What every paged list shares."""


def querystring_without_page(request) -> str:
    """The request's query string without its page number: what a page link appends
    `&page=N` to, so that paging keeps the filters."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
