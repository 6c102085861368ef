"""The portal's login backend: Django's ModelBackend, whose signed-in user arrives with
their role (with its county or township) and their cadre record, so that resolving the
user's scope on each request (villages.selectors.scope_for_user) and naming their area in
the navbar need no query of their own."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class PortalModelBackend(ModelBackend):
    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related(
            "portal_role__township__county", "portal_role__county", "cadre"
        )
        try:
            user = users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
