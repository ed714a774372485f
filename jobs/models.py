"""What the job runner remembers: one row per run of a scheduled job.

It lives in the database, not in a process, because every app server starts a runner and they
must agree on what has run: a job's last success is the newest succeeded run of that name.
"""

from django.db import models

from ecf import clock


class JobRun(models.Model):
    """One run of a scheduled job (jobs/schedule.py): started, then succeeded or failed."""

    name = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=clock.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # None while running (or when the process died mid-run), then True or False.
    succeeded = models.BooleanField(null=True)
    summary = models.TextField(blank=True, help_text="What the job reported it did, or the error.")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["name", "succeeded", "finished_at"], name="jobrun_name_success")]

    def __str__(self) -> str:
        outcome = {None: "running", True: "succeeded", False: "failed"}[self.succeeded]
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M} {outcome}"
