"""Word 97–2003 (.doc) files, converted to DOCX by LibreOffice headless and read as DOCX.

LibreOffice, not antiword: on a report converted from our DOCX fixture antiword printed table 2 but lost
table 3 entirely (its merged header cells) and ran table 4 into one line; LibreOffice keeps the merges,
so the DOCX reader sees the grid. Each call runs `soffice` in a temporary directory with its own profile
(two conversions at once must not share one) and a time limit.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .documents import DocumentError

SOFFICE_NAMES = ("soffice", "libreoffice")
MAX_DOC_BYTES = 64 * 1024 * 1024


def find_soffice() -> str | None:
    override = os.environ.get("XXGK_SOFFICE")
    if override:
        return override if Path(override).is_file() else None
    return next((path for name in SOFFICE_NAMES if (path := shutil.which(name))), None)


def doc_to_docx(data: bytes, *, timeout: float = 120.0) -> bytes:
    """The .doc as DOCX bytes; DocumentError when LibreOffice is missing, fails or times out."""
    if len(data) > MAX_DOC_BYTES:
        raise DocumentError("legacy Word .doc larger than 64 MiB; refused")
    soffice = find_soffice()
    if soffice is None:
        raise DocumentError("legacy Word .doc: LibreOffice (soffice) is not installed; "
                            "install libreoffice-writer-nogui to read it")
    with tempfile.TemporaryDirectory(prefix="xxgk-doc-") as tmp:
        src = Path(tmp, "report.doc")
        src.write_bytes(data)
        out = Path(tmp, "out")
        cmd = [soffice, "--headless", "--norestore", "--nologo", f"-env:UserInstallation=file://{tmp}/profile",
               "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), str(src)]
        try:
            run = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=tmp,
                                 env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired:
            raise DocumentError(f"legacy Word .doc: LibreOffice took longer than {timeout:.0f} s; gave up") from None
        except OSError as exc:
            raise DocumentError(f"legacy Word .doc: LibreOffice could not start: {exc}") from None
        result = out / "report.docx"
        if not result.is_file():
            detail = (run.stderr or run.stdout or b"").decode("utf-8", "replace").strip().splitlines()
            raise DocumentError("legacy Word .doc: LibreOffice could not convert it"
                                + (f" ({detail[-1][:200]})" if detail else ""))
        return result.read_bytes()
