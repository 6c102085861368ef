"""Logging filters named in settings.LOGGING."""

import logging


class ClientErrorOneLine(logging.Filter):
    """A refused or malformed request (4xx: PermissionDenied → 403, BadRequest → 400) is one
    log line: the status, the path and the reason. Django attaches the exception's traceback
    to those records, which only repeats where a service said no. A 5xx keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.exc_info and isinstance(status, int) and status < 500:
            exc = record.exc_info[1]
            message = record.getMessage()
            if exc is not None:
                reason = str(exc)
                message += f" [{type(exc).__name__}{': ' + reason if reason else ''}]"
            record.msg, record.args = message, ()
            record.exc_info = record.exc_text = None
        return True
