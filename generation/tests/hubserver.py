"""A local stand-in for the Hugging Face Hub's HTTP API, serving one repository from a snapshot folder.

It answers what ``huggingface_hub`` asks when it downloads: the repository's info
(``GET /api/models/<repo>/revision/<rev>``: commit and file list with sizes), its file
tree (``GET /api/models/<repo>/tree/<rev>[/<folder>]``) and
each file (``HEAD``/``GET /<repo>/resolve/<rev>/<path>`` with ``X-Repo-Commit``,
``ETag`` and ``Content-Length``). Files are sent in chunks at a bounded rate so
a test can watch a download in progress. Point ``HF_ENDPOINT`` at ``url``.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


class HubServer:
    def __init__(self, repo_id: str, snapshot: Path, commit: str, *, bytes_per_second: float = 4e6):
        self.repo_id, self.snapshot, self.commit, self.rate = repo_id, Path(snapshot), commit, bytes_per_second
        self.files = {p.relative_to(self.snapshot).as_posix(): p for p in sorted(self.snapshot.rglob("*")) if p.is_file()}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                server._answer(self, body=False)

            def do_GET(self):
                server._answer(self, body=True)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _info(self) -> dict:
        return {
            "id": self.repo_id, "modelId": self.repo_id, "sha": self.commit, "private": False, "disabled": False,
            "gated": False, "library_name": "diffusers", "tags": ["diffusers"], "downloads": 0, "likes": 0,
            "lastModified": "2024-08-30T00:00:00.000Z", "createdAt": "2024-08-30T00:00:00.000Z",
            "siblings": [{"rfilename": name, "size": path.stat().st_size} for name, path in self.files.items()],
        }

    def _tree(self, folder: str, recursive: bool) -> list[dict]:
        entries, folders = [], set()
        for name, path in self.files.items():
            if folder and not name.startswith(folder + "/"):
                continue
            rest = name[len(folder) + 1:] if folder else name
            if "/" in rest and not recursive:
                folders.add((folder + "/" if folder else "") + rest.split("/")[0])
                continue
            if recursive:
                parts = name.split("/")[:-1]
                folders.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
            data = path.read_bytes()
            entries.append({"type": "file", "path": name, "size": len(data),
                            "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()})
        return [{"type": "directory", "path": f, "size": 0, "oid": "0" * 40} for f in sorted(folders)] + entries

    def _answer(self, handler: BaseHTTPRequestHandler, *, body: bool) -> None:
        url = urlparse(handler.path)
        path = unquote(url.path)
        self.requests.append(f"{handler.command} {path}")
        api = f"/api/models/{self.repo_id}"
        data = None
        if path == api or path.startswith(api + "/revision/"):
            data = json.dumps(self._info()).encode()
        elif path.startswith(api + "/tree/"):
            folder = path[len(api + "/tree/"):].partition("/")[2].strip("/")
            recursive = parse_qs(url.query).get("recursive", ["false"])[0].lower() in ("true", "1")
            data = json.dumps(self._tree(folder, recursive)).encode()
        if data is not None:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            if body:
                handler.wfile.write(data)
            return
        prefix = f"/{self.repo_id}/resolve/"
        name = path[len(prefix):].split("/", 1)[1] if path.startswith(prefix) and path.count("/") > 4 else None
        if name not in self.files:
            handler.send_response(404)
            handler.send_header("X-Error-Code", "EntryNotFound")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        data = self.files[name].read_bytes()
        handler.send_response(200)
        handler.send_header("X-Repo-Commit", self.commit)
        handler.send_header("ETag", '"%s"' % hashlib.sha256(data).hexdigest())
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Content-Type", "application/octet-stream")
        handler.end_headers()
        if body:
            chunk = 256 * 1024
            for start in range(0, len(data), chunk):
                handler.wfile.write(data[start:start + chunk])
                time.sleep(chunk / self.rate)
