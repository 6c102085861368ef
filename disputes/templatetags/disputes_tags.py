from django import template

from disputes.selectors import sanling_years, summary_for_user

register = template.Library()


@register.simple_tag(takes_context=True)
def sanling_summary(context) -> dict:
    """The home card's 三零 figures for the signed-in user's area (newest roster year)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    year = sanling_years()[0]
    return {"year": year, **summary_for_user(user=user, year=year)}
