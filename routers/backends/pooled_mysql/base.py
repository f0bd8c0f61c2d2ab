"""Django's MySQL backend with the per-process connection pool (routers.backends.pool), for the control database."""

from django.db.backends.mysql import base as mysql

from routers.backends.pool import PooledConnectionMixin


class DatabaseWrapper(PooledConnectionMixin, mysql.DatabaseWrapper):
    pass
