"""A resumable store of finished inference batches.

Each batch's cropped outputs go to ``<work>/batches/<id>.npz``, written to a
temp file and renamed, so a file that exists is complete. ``plan.json`` records
the grid and options; a resume with different options is refused. A batch is
skipped on resume only when its file loads and has the expected arrays.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from geovision.errors import ConfigError, writing_to
from geovision.io.atomic import temp_path_for


class WorkStore:
    """Finished-batch files plus the plan they belong to."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.batches = self.root / "batches"

    @property
    def plan_path(self) -> Path:
        return self.root / "plan.json"

    def exists(self) -> bool:
        return self.plan_path.exists()

    def start(self, plan: dict, *, resume: bool, restart_changed: bool = False) -> None:
        """Create the store for ``plan``, or check that an existing one matches it when resuming.

        The plan holds the inputs' content hashes, so batches of a replaced image are never reused.
        A plan that changed is an error, or with ``restart_changed`` a fresh start.
        """
        plan = json.loads(json.dumps(plan))  # compare as saved: tuples (bands, percentiles) come back as lists
        if resume and self.exists():
            saved = self._saved_plan()
            changed = sorted(key for key in set(saved) | set(plan) if saved.get(key) != plan.get(key))
            if changed and not restart_changed:
                what = "the input images changed" if "content" in changed and "content" in saved else "options changed"
                raise ConfigError(
                    f"cannot resume: {what} since the interrupted run ({', '.join(changed)})",
                    path=self.plan_path,
                    fix="rerun with the same inputs and options, or use --overwrite",
                )
            resume = not changed
        if not (resume and self.exists()):
            self.clear()
            self.batches.mkdir(parents=True, exist_ok=True)
            self._write_atomic(self.plan_path, json.dumps(plan, indent=1, sort_keys=True).encode())
        self.batches.mkdir(parents=True, exist_ok=True)

    def _saved_plan(self) -> dict:
        """The stored plan; an unreadable one is empty.

        A kill while it was written is impossible (atomic write), a hand edit is not.
        """
        try:
            saved = json.loads(self.plan_path.read_text())
        except (OSError, ValueError):
            return {}
        return saved if isinstance(saved, dict) else {}

    def clear(self) -> None:
        """Remove every stored batch and the plan."""
        if self.batches.exists():
            for path in self.batches.iterdir():
                path.unlink()
        if self.plan_path.exists():
            self.plan_path.unlink()

    def batch_path(self, batch_id: int) -> Path:
        return self.batches / f"{batch_id:07d}.npz"

    def save(self, batch_id: int, arrays: dict[str, np.ndarray]) -> None:
        """Store one batch's arrays atomically (no temporary file is left behind, whatever fails).

        Uncompressed (deflate cost 12 % of a CPU run), except a batch of constant arrays (windows
        entirely nodata), which deflates to almost nothing at no cost: a mostly empty scene does
        not fill the disk with work files.
        """
        final = self.batch_path(batch_id)
        tmp = temp_path_for(final)
        constant = all(a.size == 0 or a.min() == a.max() for a in arrays.values())
        try:
            with writing_to(self.root):
                with open(tmp, "wb") as handle:
                    (np.savez_compressed if constant else np.savez)(handle, **arrays)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def load(self, batch_id: int) -> dict[str, np.ndarray]:
        with np.load(self.batch_path(batch_id)) as data:
            return {key: data[key] for key in data.files}

    def is_done(self, batch_id: int, expected_keys: set[str]) -> bool:
        """True when the batch file exists, reads back (zip CRC-checked) and holds ``expected_keys``."""
        path = self.batch_path(batch_id)
        if not path.exists():
            return False
        try:
            with np.load(path) as data:
                if set(data.files) != expected_keys:
                    return False
                for key in data.files:
                    data[key]  # noqa: B018 - reading verifies the zip CRC
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            path.unlink(missing_ok=True)
            return False
        return True

    @staticmethod
    def _write_atomic(path: Path, payload: bytes) -> None:
        tmp = temp_path_for(path)
        tmp.write_bytes(payload)
        os.replace(tmp, path)
