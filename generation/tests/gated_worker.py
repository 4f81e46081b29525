"""A generation worker for tests that must act at a given moment of a job: it stops there until told to go on.

Tests that kill, cancel, time out or disturb a worker mid-job cannot rely on a job being slow: on a GPU,
150 steps of the embedded model take well under a second. This worker (a real `rqworker` process,
chosen with `--worker-class generation.tests.gated_worker.GatedWorker`) holds at an event instead:

- `SDSTUDIO_TEST_HOLD_JOB=<pk>` and `SDSTUDIO_TEST_HOLD_AT_STEP=<n>`: the step callback of that job, at step n,
  writes `<SDSTUDIO_TEST_GATE_DIR>/step` and waits until `<gate>/release` exists (forever if it never does:
  the test kills the worker or lets the job time out there). On release it writes the job's progress and
  reads its cancel flag at once, so a cancel asked for during the hold stops the job at that very step.
- `SDSTUDIO_TEST_HOLD_STATE=<state>` (e.g. `warming`): the start-up reporter, on that state, writes
  `<gate>/<state>` and waits for `<gate>/release` the same way.

Each hold happens once (its marker stays): a retry of the same job runs through. Used only by tests.

It also tells what the UNets were given: with `SDSTUDIO_TEST_UNET_INPUTS=<file>`, every UNet call appends a line
"<mode> <input channels>" to that file.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from generation.worker import GenerationWorker, LoadReporter


def _gate() -> Path:
    return Path(os.environ["SDSTUDIO_TEST_GATE_DIR"])


def _hold(marker: str) -> None:
    """Once per marker: a job retried after the fault the test caused runs through."""
    if (_gate() / marker).exists():
        return
    (_gate() / marker).write_text(str(os.getpid()))
    while not (_gate() / "release").exists():
        time.sleep(0.02)


class GatedWorker(GenerationWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from generation import execution, services

        hold_job, hold_step = os.environ.get("SDSTUDIO_TEST_HOLD_JOB"), os.environ.get("SDSTUDIO_TEST_HOLD_AT_STEP")
        if hold_job and hold_step:
            on_step = execution.ProgressReporter.on_step

            def gated_on_step(reporter, step: int, total: int) -> None:
                if int(hold_job) in reporter.job_ids and step == int(hold_step):
                    _hold("step")
                    for job_id in reporter.job_ids:
                        if services.job_report_progress(job_id=job_id, step=step, total=total):
                            reporter.canceled.add(job_id)
                on_step(reporter, step, total)

            execution.ProgressReporter.on_step = gated_on_step

        record = os.environ.get("SDSTUDIO_TEST_UNET_INPUTS")
        if record:
            from generation import modes
            from generation.inference import pipelines

            pipeline, current = pipelines.LoadedModel.pipeline, {}

            def write(module, args, kwargs):
                sample = args[0] if args else kwargs["sample"]
                with open(record, "a") as out:
                    out.write(f"{current.get('mode', 'warm-up')} {sample.shape[1]}\n")

            def recorded_pipeline(loaded, mode, **kwargs):
                pipe = pipeline(loaded, mode, **kwargs)
                current["mode"] = modes.get(mode).name  # the runner calls the pipeline it asked for next
                if not getattr(pipe.unet, "_sdstudio_recorded", False):
                    pipe.unet.register_forward_pre_hook(write, with_kwargs=True)
                    pipe.unet._sdstudio_recorded = True
                return pipe

            pipelines.LoadedModel.pipeline = recorded_pipeline

        hold_state = os.environ.get("SDSTUDIO_TEST_HOLD_STATE")
        if hold_state:
            report = LoadReporter.__call__

            def gated_report(reporter, state: str, **details) -> None:
                report(reporter, state, **details)
                if state == hold_state:
                    _hold(state)

            LoadReporter.__call__ = gated_report
