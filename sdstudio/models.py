"""SD Studio keeps no models of its own; this module lets the app receive post_migrate (see apps.py)."""
