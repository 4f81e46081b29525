from generation import modelinfo


def studio(request) -> dict:
    """Every page says which model the workers serve (and warns when it is the embedded one)."""
    return {
        "studio_model_label": modelinfo.model_label(),
        "studio_model_embedded": modelinfo.is_embedded(),
        "studio_model_description": modelinfo.embedded_description(),
        "studio_sd15_id": modelinfo.SD15_HUB_ID,
    }
