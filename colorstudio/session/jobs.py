"""Jobs: what a request was made for, captured when it is sent, so its result lands there or
nowhere.

A :class:`Job` holds the document it was made for (by identity), the layer a result goes to,
whether it becomes a new layer, and — for previews — the :class:`~colorstudio.session.preview.
PreviewInputs` it was computed from. The worker speaks in request ids; :class:`JobBook` turns
each message back into its job, in one place: a result whose document is no longer the open one
is dropped (and the caller says so), never applied to whatever is open now.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from colorstudio.core.document import Document


class JobKind(str, Enum):
    PREVIEW = "preview"  #: shown over the canvas, not applied; only the newest matters
    APPLY = "apply"  #: becomes one undoable edit on the document it was made for
    DETECT = "detect"  #: a damage mask, added as an undoable mask
    SUGGEST = "suggest"  #: colour swatches for the hint brush
    WARM_UP = "warm-up"  #: loads the model and caches what the first preview needs; not shown


class JobState(str, Enum):
    QUEUED = "queued"
    PROGRESS = "progress"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Job:
    id: int
    kind: JobKind
    document: Document | None  #: None: a start-up job that belongs to no document
    target_layer_id: str | None = None
    as_new_layer: bool = False
    inputs: Any = None  #: a preview's PreviewInputs (what it was computed from)
    mode: Any = None  #: the generate mode (``generate.Mode``) a preview or Apply was sent in
    submitted_at: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.submitted_at


@dataclass(frozen=True)
class JobMessage:
    """One typed message from the worker, joined with its job. ``orphan``: the job's document
    is no longer the open one, so its result must not be applied."""

    state: JobState
    job: Job
    payload: Any = None  #: the Result (finished), the error text (failed), (fraction, text)
    orphan: bool = False


class JobBook:
    """The jobs in flight, by request id."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}

    def new(self, kind: JobKind, document: Document | None, **captured: Any) -> Job:
        """A job with a fresh id, capturing everything its result will need now."""
        job = Job(next(self._ids), kind, document, **captured)
        self._jobs[job.id] = job
        return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def message(
        self, job_id: int, state: JobState, current: Document | None, payload: Any = None
    ) -> JobMessage | None:
        """The message for a worker event about ``job_id`` (None for a job not ours, e.g.
        already ended); a final state ends the job. ``current``: the open document."""
        final = state in (JobState.FINISHED, JobState.FAILED, JobState.CANCELLED)
        job = self._jobs.pop(job_id, None) if final else self._jobs.get(job_id)
        if job is None:
            return None
        return JobMessage(state, job, payload, orphan=job.document is not current)

    def forget(self, job_id: int) -> None:
        """A job the worker dropped unseen (a newer preview replaced it)."""
        self._jobs.pop(job_id, None)

    def pending(self, kind: JobKind | None = None) -> list[Job]:
        return [j for j in self._jobs.values() if kind is None or j.kind is kind]
