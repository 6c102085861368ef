"""Registers this app's API viewsets on the portal router (xuchang_portal/api/urls.py)."""


def register(router) -> None:
    return None
