from generation import modelinfo


def studio(request) -> dict:
    """Every page says which model the workers serve (and warns when it is the embedded one), and whether the login
    has a role (without one the menu offers nothing but logging out: every page would say to ask an admin)."""
    from sdstudio.access import has_role

    user = getattr(request, "user", None)
    return {
        "studio_has_role": user is not None and has_role(user),
        "studio_model_label": modelinfo.model_label(),
        "studio_model_embedded": modelinfo.is_embedded(),
        "studio_model_description": modelinfo.embedded_description(),
        "studio_sd15_id": modelinfo.SD15_HUB_ID,
    }
