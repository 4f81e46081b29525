"""Content Credentials (C2PA): every output signed with a manifest bound to its bytes; any image's credentials read back.

Signing uses the CAI's ``c2pa-python``. The manifest says who made the image
(claim generator SD Studio and its version), how (a ``c2pa.actions.v2``
assertion: the actions the job's mode declares (generation.modes: ``c2pa.created``
with IPTC's trainedAlgorithmicMedia for text2img, ``c2pa.edited`` or ``c2pa.placed``
with compositeWithTrainedAlgorithmicMedia for img2img and scene), the last naming the
model and every parameter), from what (the source photo as an ingredient with the
relationship the mode declares and the SHA-256 of the stored file) and, for a
re-run, of which job. This module knows no mode: the caller passes the actions.

Keys: ``SDSTUDIO_C2PA_CERT`` + ``SDSTUDIO_C2PA_KEY`` (PEM files: the signer's
chain and its private key), or ``SDSTUDIO_C2PA_SIGNER`` (a dotted path to a
``sign(data: bytes) -> bytes`` callback of a signing service, with
``SDSTUDIO_C2PA_CERT`` for its chain). With development settings and none of
them, a development CA and signer are made under ``var/c2pa`` on first use
(``manage.py c2pa_dev_cert``), so every output of the demo and the tests is
really signed, by a certificate no one trusts. In production without keys,
outputs are produced unsigned and pages say so.
"""
from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from sdstudio.iptc import AI_SOURCE_TYPES  # noqa: F401  (readers of uploads ask here)

# The label actions name the source photo's ingredient by (C2PA 2's validator: opened takes a parentOf
# ingredient, placed a componentOf one). The last action carries the parameters.
SOURCE_INGREDIENT = "source-photo"
DEV_SUBJECT = "SD Studio development signer"
# Validation codes that only say the signer is not on a trust list (a development or private CA).
UNTRUSTED_CODES = {"signingCredential.untrusted"}


class SigningFailed(Exception):
    """The output could not be signed: the job fails with this reason, it is never stored unsigned as signed."""


@dataclass(frozen=True)
class Ingredient:
    """The source photo of an output: its title, the stored file's bytes, and how the output relates to it."""

    title: str
    data: bytes
    relationship: str  # parentOf (the output is an edit of it), componentOf (it was placed into the output)


@dataclass(frozen=True)
class Keys:
    chain_pem: bytes
    key_pem: bytes | None  # None: a signing-service callback holds the key
    callback: object = None
    development: bool = False


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("c2pa-python")
    except PackageNotFoundError:  # pragma: no cover - it is a requirement
        return ""


_dev_lock = threading.Lock()


def dev_paths(folder: Path | None = None) -> tuple[Path, Path, Path]:
    folder = Path(folder or settings.SDSTUDIO_C2PA_DEV_DIR)
    return folder / "ca.pem", folder / "signer-chain.pem", folder / "signer.key"


def make_dev_cert(folder: Path | None = None, *, force: bool = False) -> tuple[Path, Path, Path]:
    """A development CA and an ES256 signer under ``folder`` (the C2PA certificate profile: CA + leaf with
    digitalSignature and the emailProtection extended key usage). Kept if present unless ``force``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_path, chain_path, key_path = dev_paths(folder)
    with _dev_lock:
        if chain_path.exists() and key_path.exists() and not force:
            return ca_path, chain_path, key_path
        ca_path.parent.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        organisation = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SD Studio (development only)")
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SD Studio development CA"), organisation])
        usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                     encipher_only=False, decipher_only=False)
        ca = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DEV_SUBJECT), organisation]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        _write_atomically(key_path, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), private=True)
        _write_atomically(ca_path, ca.public_bytes(pem))
        _write_atomically(chain_path, leaf.public_bytes(pem) + ca.public_bytes(pem))
    return ca_path, chain_path, key_path


def _write_atomically(path: Path, data: bytes, *, private: bool = False) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644), "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def signing_keys() -> Keys | None:
    """The configured keys, the development keys (development settings only), or None: outputs stay unsigned."""
    cert, key, callback = settings.SDSTUDIO_C2PA_CERT, settings.SDSTUDIO_C2PA_KEY, settings.SDSTUDIO_C2PA_SIGNER
    if callback:
        if not cert:
            raise SigningFailed("SDSTUDIO_C2PA_SIGNER needs SDSTUDIO_C2PA_CERT: the signing service's certificate chain (PEM).")
        return Keys(chain_pem=Path(cert).read_bytes(), key_pem=None, callback=import_string(callback))
    if cert and key:
        return Keys(chain_pem=Path(cert).read_bytes(), key_pem=Path(key).read_bytes())
    if cert or key:
        raise SigningFailed("Set both SDSTUDIO_C2PA_CERT and SDSTUDIO_C2PA_KEY (PEM files), or neither.")
    if settings.DEBUG and settings.SDSTUDIO_C2PA_DEV_SIGNING:
        return development_keys()
    return None


def development_keys() -> Keys:
    """The development signer under SDSTUDIO_C2PA_DEV_DIR, made on first use."""
    _, chain_path, key_path = make_dev_cert()
    return Keys(chain_pem=chain_path.read_bytes(), key_pem=key_path.read_bytes(), development=True)


def signing_mode() -> str:
    """"configured", "development" or "" (unsigned): what the pages say about new outputs."""
    if settings.SDSTUDIO_C2PA_SIGNER or (settings.SDSTUDIO_C2PA_CERT and settings.SDSTUDIO_C2PA_KEY):
        return "configured"
    return "development" if settings.DEBUG and settings.SDSTUDIO_C2PA_DEV_SIGNING else ""


def _signer(keys: Keys):
    import c2pa

    if keys.callback is not None:
        return c2pa.Signer.from_callback(keys.callback, c2pa.C2paSigningAlg.ES256, keys.chain_pem.decode(), None)
    return c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg=b"es256", sign_cert=keys.chain_pem, private_key=keys.key_pem, ta_url=None))


_contexts = threading.local()


def _context():
    """A c2pa Context without the claim thumbnail: a second, full-size copy of the output inside it (a PNG output
    gets a PNG thumbnail) would double the file. The source photo's thumbnail stays (the pages show it)."""
    import c2pa

    if not hasattr(_contexts, "value"):
        _contexts.value = c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    return _contexts.value


def manifest_for(*, actions, params: dict, model: str, title: str, rerun_of: dict | None = None) -> dict:
    """The manifest of an output made by ``actions`` (generation.modes.Action: action, source_type, names_source)."""
    agent = {"name": "SD Studio", "version": settings.SDSTUDIO_VERSION}
    entries = []
    for step in actions:
        entry: dict = {"action": step.action, "softwareAgent": agent}
        if step.source_type:
            entry["digitalSourceType"] = step.source_type
        if step.names_source:
            entry["parameters"] = {"ingredientIds": [SOURCE_INGREDIENT]}
        entries.append(entry)
    entries[-1].setdefault("parameters", {}).update({"model": model, **{k: v for k, v in params.items() if v is not None and k != "model"}})
    assertions = [{"label": "c2pa.actions.v2", "data": {"actions": entries}}]
    if rerun_of:
        assertions.append({"label": "org.sdstudio.rerun", "data": rerun_of})
    return {
        "claim_generator_info": [agent],
        "title": title,
        "format": "image/png",
        "assertions": assertions,
    }


def sign_png(png: bytes, manifest: dict, *, source: Ingredient | None = None, keys: Keys | None = None) -> bytes:
    """``png`` with ``manifest`` signed into it; ``source`` (the stored photo) becomes its ingredient, with the
    file's SHA-256. Raises SigningFailed; never returns unsigned bytes."""
    import c2pa

    keys = keys or signing_keys()
    if keys is None:
        raise SigningFailed("No signing keys are configured (SDSTUDIO_C2PA_CERT / SDSTUDIO_C2PA_KEY).")
    try:
        builder = c2pa.Builder(json.dumps(manifest), _context())
        if source is not None:
            data = source.data
            ingredient = {"title": source.title, "relationship": source.relationship, "format": "image/png", "label": SOURCE_INGREDIENT,
                          "metadata": {"org.sdstudio.sha256": hashlib.sha256(data).hexdigest()},
                          "thumbnail": {"format": "image/jpeg", "identifier": "source-thumbnail.jpg"}}
            builder.add_resource("source-thumbnail.jpg", io.BytesIO(_jpeg_thumbnail(data)))
            builder.add_ingredient(ingredient, "image/png", io.BytesIO(data))
        destination = io.BytesIO()
        with _signer(keys) as signer:
            builder.sign(signer, "image/png", io.BytesIO(png), destination)
        return destination.getvalue()
    except SigningFailed:
        raise
    except Exception as exc:  # c2pa raises its own errors, cryptography and OSError too: all mean "not signed"
        raise SigningFailed(f"Signing the output with Content Credentials failed: {type(exc).__name__}: {exc}") from exc


def _jpeg_thumbnail(data: bytes, size: int = 256) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        image.thumbnail((size, size))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


@dataclass
class Credentials:
    """What an image's Content Credentials say, for pages: state is valid, invalid or unsigned."""

    state: str
    signer: str = ""
    issuer: str = ""
    development: bool = False
    generator: str = ""
    actions: list[dict] = field(default_factory=list)
    ingredients: list[dict] = field(default_factory=list)  # title, relationship, sha256, thumbnail (data: URI)
    problems: list[str] = field(default_factory=list)  # validation failures, as codes with their explanation
    trusted: bool = False

    @property
    def digital_source_types(self) -> list[str]:
        return [a.get("digitalSourceType", "") for a in self.actions if a.get("digitalSourceType")]

    @property
    def declares_ai(self) -> bool:
        return any(t in AI_SOURCE_TYPES for t in self.digital_source_types)


MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def read(data: bytes, mime: str = "image/png") -> Credentials:
    """Verify ``data``'s manifest (structure, signature and hash binding) and summarise it."""
    import base64

    import c2pa

    try:
        reader = c2pa.Reader(mime, io.BytesIO(data))
    except Exception as exc:
        text = str(exc)
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in text or "ManifestNotFound" in text or "not found" in text.lower():
            return Credentials(state="unsigned")
        return Credentials(state="invalid", problems=[f"{type(exc).__name__}: {text}"])
    with reader:
        store = json.loads(reader.json())
        active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
        results = store.get("validation_results", {}).get("activeManifest", {})
        failures = results.get("failure", []) if results else store.get("validation_status", [])
        problems = [f"{f.get('code')}: {f.get('explanation', '')}" for f in failures if f.get("code") not in UNTRUSTED_CODES]
        untrusted = any(f.get("code") in UNTRUSTED_CODES for f in failures)
        info = active.get("signature_info", {})
        actions = []
        for assertion in active.get("assertions", []):
            if assertion.get("label", "").startswith("c2pa.actions"):
                actions += assertion.get("data", {}).get("actions", [])
        ingredients = []
        for ingredient in active.get("ingredients", []):
            thumbnail = ""
            identifier = (ingredient.get("thumbnail") or {}).get("identifier")
            if identifier:
                buffer = io.BytesIO()
                try:
                    reader.resource_to_stream(identifier, buffer)
                    thumbnail = f"data:{ingredient['thumbnail'].get('format', 'image/jpeg')};base64," + base64.b64encode(buffer.getvalue()).decode()
                except Exception:
                    thumbnail = ""
            ingredients.append({"title": ingredient.get("title", ""), "relationship": ingredient.get("relationship", ""),
                                "sha256": (ingredient.get("metadata") or {}).get("org.sdstudio.sha256", ""), "thumbnail": thumbnail})
        generator = ", ".join(f"{g.get('name', '')} {g.get('version', '')}".strip() for g in active.get("claim_generator_info", []))
    return Credentials(
        state="invalid" if problems else "valid",
        signer=info.get("common_name", ""),
        issuer=info.get("issuer", ""),
        development=info.get("common_name", "") == DEV_SUBJECT,
        generator=generator,
        actions=actions,
        ingredients=ingredients,
        problems=problems,
        trusted=not untrusted and not problems,
    )


def read_image_file(data: bytes) -> Credentials:
    """Credentials of an uploaded file of any supported type (decided from its bytes)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            mime = MIME_TYPES.get(image.format or "", "")
    except Exception:
        mime = ""
    if not mime:
        return Credentials(state="unsigned", problems=["Not a PNG, JPEG or WebP image."])
    return read(data, mime)
