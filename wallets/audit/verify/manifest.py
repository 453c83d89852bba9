"""The checks of manifest.json, its signatures, the files it lists, and of
earlier digests."""

from __future__ import annotations

import json
from datetime import datetime

from ...ledger.journal import GENESIS_HASH
from .. import digest as dg
from ..export import (
    MANIFEST_FORMAT,
    file_digest,
    manifest_message,
)
from .journal import _JournalChecks
from .report import _Journal


class _ManifestChecks(_JournalChecks):
    """manifest.json: its format, the signatures of the digest and of the
    manifest, the files it lists; the heads of earlier digests in the chain."""

    def _manifest(self) -> bool:
        c = self.check("manifest")
        path = self.dir / "manifest.json"
        try:
            self.manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.fail(c, "manifest.json", None, "missing: this is not an audit export")
            return False
        except (ValueError, UnicodeDecodeError) as exc:
            self.fail(c, "manifest.json", getattr(exc, "lineno", None), f"not valid JSON: {exc}")
            return False
        m = self.manifest
        if not isinstance(m, dict) or m.get("format") != MANIFEST_FORMAT:
            self.fail(c, "manifest.json", None, f"format is not {MANIFEST_FORMAT}")
            return False
        missing = [
            k
            for k in ("files", "digest", "range", "control_totals", "filters", "complete")
            if k not in m
        ]
        if missing:
            self.fail(c, "manifest.json", None, f"lacks {', '.join(missing)}")
            return False
        try:
            self.listed = {f["name"]: f for f in m["files"]}
        except (TypeError, KeyError):
            self.fail(c, "manifest.json", None, "files: each needs a name")
            return False
        scope = "complete (unfiltered)" if m["complete"] else f"filtered {json.dumps(m['filters'])}"
        c.detail = f"export {m.get('export_id')}, {scope}, {len(self.listed)} files listed"
        return True

    def _signatures(self) -> None:
        c = self.check("signatures")
        m = self.manifest
        digest = m["digest"]
        try:
            named_key = dg.load_public_key(digest["public_key"])
        except (KeyError, TypeError, ValueError) as exc:
            self.fail(c, "manifest.json", None, f"digest.public_key is unusable: {exc}")
            return
        key = self.trusted_key or named_key
        fingerprint = dg.public_key_fingerprint(key)
        if self.trusted_key is not None:
            source = "the key given"
            self.report.authenticated = True
            if dg.public_key_fingerprint(named_key) != fingerprint:
                self.fail(
                    c,
                    "manifest.json",
                    None,
                    "digest.public_key is not the key given: the export was signed by another key",
                )
        else:
            source = "the manifest's own key: integrity only, signer UNAUTHENTICATED"
        if not dg.signature_valid(digest, key):
            self.fail(
                c,
                "manifest.json",
                None,
                f"digest: the signature over sequence {digest.get('sequence')}, head_hash and "
                f"time does not verify with {source}",
            )
        signature = (m.get("signature") or {}).get("value")
        if not signature or not dg.bytes_signature_valid(manifest_message(m), signature, key):
            self.fail(
                c,
                "manifest.json",
                None,
                f"the manifest's signature does not verify with {source}: the manifest was edited "
                "or signed by another key",
            )
        head = m.get("head") or {}
        if head and (
            head.get("sequence") != digest.get("sequence")
            or head.get("hash") != digest.get("head_hash")
        ):
            self.fail(c, "manifest.json", None, "head differs from the signed digest")
        c.detail = f"Ed25519 key {fingerprint[:16]}..., {source}"

    def _files(self) -> None:
        c = self.check("files")
        for name, entry in self.listed.items():
            path = self.dir / name
            if not path.is_file():
                self.fail(c, name, None, "listed in the manifest but missing")
                continue
            size, sha = file_digest(path)
            if sha != entry.get("sha256"):
                self.fail(c, name, None, "SHA-256 differs from the manifest: the file was changed")
            elif size != entry.get("bytes"):
                self.fail(c, name, None, f"{size} bytes, the manifest says {entry.get('bytes')}")
        for path in sorted(self.dir.rglob("*")):
            name = path.relative_to(self.dir).as_posix()
            if path.is_file() and name != "manifest.json" and name not in self.listed:
                self.fail(c, name, None, "not listed in the manifest")
        c.detail = f"{len(self.listed)} files checked against their size and SHA-256"

    def _earlier_digests(self, j: _Journal) -> None:
        """A digest kept from earlier names a head that this export's chain must
        still pass through, unchanged: nothing before it was rewritten since."""
        if not self.earlier:
            return
        c = self.check("earlier digests")
        key = self.trusted_key or dg.load_public_key(self.manifest["digest"]["public_key"])
        unchecked = 0
        name = self._journal_file() or "journal"
        for d in self.earlier:
            seq = d.get("sequence")
            label = (
                f"checkpoint {d['id']} (seq {seq}, taken at {d.get('time')})"
                if d.get("id") is not None
                else f"digest of seq {seq} taken at {d.get('time')}"
            )
            if not dg.signature_valid(d, key):
                self.fail(c, "digest", None, f"{label}: its signature does not verify with the key")
            elif seq == 0:
                if d.get("head_hash") != GENESIS_HASH:
                    self.fail(
                        c, "digest", None, f"{label}: an empty chain's head is the genesis hash"
                    )
            elif seq in self.earlier_found:
                found, line = self.earlier_found[seq]
                if found != d.get("head_hash"):
                    self.fail(
                        c,
                        name,
                        line,
                        f"seq {seq} has hash {found[:16]}..., but the {label} signed "
                        f"{str(d.get('head_hash'))[:16]}...: the chain was rewritten since",
                    )
            elif isinstance(seq, int) and seq > (j.last_seq or 0) and _later(d, self.manifest):
                # Kept from after this export was taken: the export cannot hold it.
                unchecked += 1
                self.report.not_checkable.append(
                    f"{label}: taken after this export (whose head is seq "
                    f"{self.manifest['digest'].get('sequence')}), so it cannot be checked here"
                )
            elif self.manifest["complete"] and isinstance(seq, int) and seq > (j.last_seq or 0):
                self.fail(c, name, None, f"{label}: the chain ends before it (it was truncated)")
            elif not self.manifest["complete"]:
                # Not a failure: a filtered export holds only some rows.
                unchecked += 1
                self.report.not_checkable.append(
                    f"{label}: seq {seq} lies outside this filtered export's rows, so whether "
                    "the chain still passes through it cannot be checked here (verify a "
                    "complete export, or `ecny audit checkpoints verify` against the database)"
                )
            else:
                self.fail(c, name, None, f"{label}: seq {seq} is not in this export, cannot check")
        checked = len(self.earlier) - unchecked
        c.detail = f"{checked} earlier digest(s) checked against the chain" + (
            f", {unchecked} not checkable" if unchecked else ""
        )


def _later(kept: dict, manifest: dict) -> bool:
    """Was the digest ``kept`` signed after the export's own digest?"""
    try:
        return datetime.fromisoformat(kept["time"]) > datetime.fromisoformat(
            manifest["digest"]["time"]
        )
    except (KeyError, TypeError, ValueError):
        return False
