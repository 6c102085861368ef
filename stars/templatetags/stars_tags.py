from django import template

from stars.selectors import default_star_year, level_overview_for_user, pending_counts

register = template.Library()


@register.filter
def get_item_safe(mapping, key):
    return (mapping or {}).get(key, 0)


@register.simple_tag(takes_context=True)
def stars_summary(context) -> dict:
    """The home card's figures for the signed-in user's area (newest roster year)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    year = default_star_year()
    return {
        "year": year,
        "total": level_overview_for_user(user=user, year=year)["total"],
        "pending": sum(pending_counts(user=user, year=year).values()),
    }
