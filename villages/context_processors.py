from villages.selectors import scope_for_user


def portal_role(request):
    """Expose the signed-in user's scope to templates (menus depend on it)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = getattr(user, "portal_role", None) if hasattr(user, "portal_role") else None
    return {"scope": scope_for_user(user), "user_role": role}
