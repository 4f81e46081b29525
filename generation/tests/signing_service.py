"""A stand-in for a remote signing service (SDSTUDIO_C2PA_SIGNER): signs with the development key, as an HSM would."""
from __future__ import annotations

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

calls: list[int] = []


def sign(data: bytes) -> bytes:
    calls.append(len(data))
    key = serialization.load_pem_private_key((settings.SDSTUDIO_C2PA_DEV_DIR / "signer.key").read_bytes(), password=None)
    return key.sign(data, ec.ECDSA(hashes.SHA256()))
