"""Domain errors. Each carries a catalogue key and parameters so every UI can say it in its language."""


class QinyuanError(Exception):
    key = "error.generic"

    def __init__(self, key: str | None = None, **params):
        self.key = key or self.key
        self.params = params
        super().__init__(f"{self.key} {params}" if params else self.key)


class PermissionDenied(QinyuanError):
    key = "error.permission"


class StaleEdit(QinyuanError):
    """Someone else changed the record after the user loaded it."""

    key = "error.stale"


class NotFound(QinyuanError):
    key = "error.not_found"


class InvalidInput(QinyuanError):
    key = "error.invalid"


class DatabaseBusy(QinyuanError):
    """Another process (usually the dashboard) holds the DuckDB file."""

    key = "error.db_locked"


class NotQinyuanDatabase(QinyuanError):
    key = "error.not_qinyuan_db"


class NotMigrated(QinyuanError):
    """A server database whose schema is behind this code: `python -m qinyuan migrate` first."""

    key = "error.not_migrated"


class ServerUnreachable(QinyuanError):
    key = "error.db_unreachable"
