"""The worker images' `rediswq` module, as the test stand-in for `/rediswq.py` in the images.

It speaks the lease protocol of ../shared/DESIGN.md ("The worker contract") byte for byte,
with the same public surface the images' module has (class `RedisWQ`: `_db`, `_session`,
`_lease_key_prefix`, `_itemkey`, `empty`, `lease`, `complete`), so code that patches the real
module (the lease heartbeat) can be tested against it. Written for redis-py 3.x and 4.x.
"""
import hashlib
import uuid

import redis


class RedisWQ(object):
    def __init__(self, name, **redis_kwargs):
        self._db = redis.StrictRedis(**redis_kwargs)
        self._session = str(uuid.uuid4())
        self._main_q_key = name
        self._processing_q_key = name + ":processing"
        self._lease_key_prefix = name + ":leased_by_session:"

    def sessionID(self):
        return self._session

    def _main_qsize(self):
        return self._db.llen(self._main_q_key)

    def _processing_qsize(self):
        return self._db.llen(self._processing_q_key)

    def empty(self):
        """Both the queue and the processing list are empty (LLEN Q, LLEN Q:processing)."""
        return self._main_qsize() == 0 and self._processing_qsize() == 0

    def _itemkey(self, item):
        """SHA-224 hex of the item's bytes: the lease key's suffix."""
        return hashlib.sha224(item).hexdigest()

    def _lease_exists(self, item):
        return self._db.exists(self._lease_key_prefix + self._itemkey(item))

    def lease(self, lease_secs=60, block=True, timeout=None):
        """BRPOPLPUSH (or RPOPLPUSH) Q -> Q:processing, then SETEX the lease key to the session."""
        if block:
            item = self._db.brpoplpush(self._main_q_key, self._processing_q_key, timeout=timeout)
        else:
            item = self._db.rpoplpush(self._main_q_key, self._processing_q_key)
        if item:
            self._db.setex(self._lease_key_prefix + self._itemkey(item), lease_secs, self._session)
        return item

    def complete(self, value):
        """LREM Q:processing 0 item, then one DEL of the lease key and of a key named after the
        bare session id (a harmless bug of the original, kept: the ACL must allow it)."""
        self._db.lrem(self._processing_q_key, 0, value)
        self._db.delete(self._lease_key_prefix + self._itemkey(value), self._session)
