"""Errors of tenant-tagged jobs."""

from core.exceptions import ApplicationError


class JobNotFound(ApplicationError):
    """No such job for this tenant: unknown, expired, or another tenant's (which must look the same)."""

    code = "job_not_found"
    message = "No job with this id exists for this mini-program."
    status = 404


class JobTenantRefused(Exception):
    """The job's tenant is missing, unknown or suspended: the job fails without running anywhere.

    Permanent: it is not retried. After `resume_tenant`, `failed_jobs --requeue` runs it again.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type["JobTenantRefused"], tuple[str, str]]:
        # rq pickles exceptions between processes; the default would call __init__ with the message only.
        return (type(self), (self.code, self.message))
