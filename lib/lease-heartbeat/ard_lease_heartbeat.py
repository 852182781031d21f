"""Lease heartbeat for the worker images' `rediswq` module (the Kubernetes work-queue docs' one).

The images lease each item for a fixed time (S2: 1800 s) and never renew it. Loaded by
sitecustomize.py, this module waits for the worker to import `rediswq`, then wraps
`RedisWQ.lease` and `RedisWQ.complete`:

- lease() takes the item with ARD_LEASE_SECONDS (default 120) instead of the image's lease time;
- while the worker works on it, a daemon thread renews the lease every third of that time, but
  only while the lease key still holds this worker's session id (WATCH, GET, MULTI, EXPIRE,
  EXEC: no Lua, so it works for a Redis user without scripting). A lease that expired, or that
  recovery took back, is never brought back: a missing key ends the renewal;
- complete() ends the renewal; so does ARD_LEASE_MAX_SECONDS (default 21600, 6 h) after the
  lease was taken, so a hung worker's item is still recovered eventually.

The heartbeat has its own Redis connection (a redis-py connection is not shared with a thread
while the worker blocks on it), made from the worker client's connection settings.

Anything unexpected - no `rediswq`, a different class or signature, Redis errors - leaves the
worker running exactly as it would without this module, and prints one warning line to stderr.

Written for Python 3.8 with redis-py 3.x (the images) and newer Pythons and redis-py versions.
"""
import importlib.abc
import importlib.machinery
import inspect
import os
import sys
import threading
import time

#: The module the heartbeat patches, and its class.
TARGET_MODULE = "rediswq"
TARGET_CLASS = "RedisWQ"

DEFAULT_LEASE_SECONDS = 120
DEFAULT_MAX_SECONDS = 6 * 3600

_PREFIX = "ard-lease-heartbeat: "
_PATCHED = "_ard_lease_heartbeat_patched"


def warn(message):
    """One line on stderr; never raises (stderr may be closed)."""
    try:
        sys.stderr.write(_PREFIX + "WARNING: " + message + "\n")
        sys.stderr.flush()
    except Exception:
        pass


def _positive_int_env(name, default):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError("%s must be a positive integer, got %r" % (name, raw))
    return value


class Settings(object):
    """ARD_LEASE_SECONDS and ARD_LEASE_MAX_SECONDS, read once."""

    def __init__(self, lease_seconds, max_seconds):
        self.lease_seconds = lease_seconds
        self.max_seconds = max_seconds
        # Two renewals may fail (or be late on a loaded node) before the lease runs out.
        self.interval = lease_seconds / 3.0

    @classmethod
    def from_env(cls):
        return cls(
            _positive_int_env("ARD_LEASE_SECONDS", DEFAULT_LEASE_SECONDS),
            _positive_int_env("ARD_LEASE_MAX_SECONDS", DEFAULT_MAX_SECONDS),
        )


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class _Lease(object):
    __slots__ = ("client", "key", "session", "deadline", "due", "warned")

    def __init__(self, client, key, session, now, settings):
        self.client = client
        self.key = key
        self.session = _text(session)
        self.deadline = now + settings.max_seconds
        self.due = now + settings.interval
        self.warned = False


class Heartbeat(object):
    """One daemon thread renewing the leases this process holds."""

    def __init__(self, settings):
        self.settings = settings
        self._leases = {}
        self._cond = threading.Condition()
        self._thread = None

    def start(self, client, key, session):
        now = time.monotonic()
        with self._cond:
            self._leases[key] = _Lease(client, key, session, now, self.settings)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ard-lease-heartbeat")
                self._thread.daemon = True
                self._thread.start()
            self._cond.notify()

    def stop(self, key):
        with self._cond:
            self._leases.pop(key, None)
            self._cond.notify()

    def active(self):
        with self._cond:
            return sorted(self._leases)

    def _run(self):
        while True:
            try:
                self._tick()
            except Exception as error:  # keep the thread alive: a dead heartbeat loses every lease
                warn("heartbeat error (%s: %s)" % (type(error).__name__, error))
                time.sleep(self.settings.interval)

    def _tick(self):
        with self._cond:
            now = time.monotonic()
            due = [lease for lease in self._leases.values() if lease.due <= now]
            if not due:
                wait = min([lease.due for lease in self._leases.values()] or [now + 3600]) - now
                self._cond.wait(max(wait, 0.01))
                return
        for lease in due:
            self._renew(lease)

    def _forget(self, lease):
        with self._cond:
            if self._leases.get(lease.key) is lease:
                del self._leases[lease.key]

    def _renew(self, lease):
        now = time.monotonic()
        if now >= lease.deadline:
            warn(
                "stopped renewing %s after ARD_LEASE_MAX_SECONDS=%d; the lease ends in %d s and "
                "recovery then requeues the item" % (lease.key, self.settings.max_seconds, self.settings.lease_seconds)
            )
            self._forget(lease)
            return
        lease.due = now + self.settings.interval
        try:
            holds = renew_if_held(lease.client, lease.key, lease.session, self.settings.lease_seconds)
        except Exception as error:
            # Keep trying until the lease is gone: Redis may be restarting, and the key survives
            # in its append-only file. One warning per lease, not one per attempt.
            if not lease.warned:
                lease.warned = True
                warn("renewing %s failed (%s: %s); retrying every %.3g s" % (
                    lease.key, type(error).__name__, error, self.settings.interval))
            return
        if not holds:
            self._forget(lease)


def renew_if_held(client, key, session, lease_seconds):
    """Sets the TTL of `key` to `lease_seconds` if and only if it still holds `session`.

    Atomic without Lua: WATCH key, GET key, then MULTI / EXPIRE / EXEC, which Redis aborts if
    anyone wrote the key after WATCH. Sends exactly WATCH, GET, then MULTI, EXPIRE, EXEC (key
    still ours) or UNWATCH (it is not). EXPIRE never creates a key, so a lease that ran out or
    was taken back stays gone. Returns whether the lease is still held.
    """
    import redis

    with client.pipeline(transaction=True) as pipe:
        for _ in range(3):
            try:
                pipe.watch(key)
                if _text(pipe.get(key)) != session:
                    return False
                pipe.multi()
                pipe.expire(key, lease_seconds)
                return bool(pipe.execute()[0])
            except redis.WatchError:
                continue  # written meanwhile: look again
        return False


def _own_client(worker_client, settings):
    """A new client with the worker client's connection settings, and timeouts that keep a
    stalled connection from holding up renewals."""
    import redis

    pool = worker_client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    timeout = min(10.0, settings.interval)
    kwargs["socket_timeout"] = timeout
    if "host" in kwargs:  # TCP; a Unix socket connection takes no connect timeout
        kwargs["socket_connect_timeout"] = timeout
    own_pool = redis.ConnectionPool(connection_class=pool.connection_class, max_connections=2, **kwargs)
    return redis.StrictRedis(connection_pool=own_pool)


def _parameters(function):
    return list(inspect.signature(function).parameters)


def check_class(cls):
    """Raises ValueError unless `cls` has the images' lease()/complete() signatures."""
    lease = getattr(cls, "lease", None)
    complete = getattr(cls, "complete", None)
    if not callable(lease) or not callable(complete):
        raise ValueError("%s has no lease() and complete() methods" % cls.__name__)
    if _parameters(lease) != ["self", "lease_secs", "block", "timeout"]:
        raise ValueError("%s.lease%s is not lease(self, lease_secs, block, timeout)" % (
            cls.__name__, inspect.signature(lease)))
    if len(_parameters(complete)) != 2:
        raise ValueError("%s.complete%s is not complete(self, value)" % (cls.__name__, inspect.signature(complete)))


def _lease_target(wq):
    """The worker's client, session id and lease key function, or ValueError naming what is missing."""
    db = getattr(wq, "_db", None)
    session = getattr(wq, "_session", None)
    prefix = getattr(wq, "_lease_key_prefix", None)
    itemkey = getattr(wq, "_itemkey", None)
    kwargs = getattr(getattr(db, "connection_pool", None), "connection_kwargs", None)
    if not isinstance(kwargs, dict) or not isinstance(session, (str, bytes)) or not isinstance(prefix, str) \
            or not callable(itemkey):
        raise ValueError("RedisWQ instance lacks _db.connection_pool, _session, _lease_key_prefix or _itemkey")
    return db, session, lambda item: prefix + itemkey(item)


def patch_class(cls, settings, heartbeat=None):
    """Wraps cls.lease and cls.complete. Raises ValueError (class unchanged) if it does not fit."""
    if getattr(cls, _PATCHED, False):
        return
    check_class(cls)
    heartbeat = heartbeat or Heartbeat(settings)
    original_lease = cls.lease
    original_complete = cls.complete
    state = {"disabled": False, "client": None}

    def disable(reason):
        if not state["disabled"]:
            state["disabled"] = True
            warn("%s; the worker runs without lease renewal" % reason)

    def lease(self, lease_secs=60, block=True, timeout=None):
        if not state["disabled"]:
            try:
                db, session, key_of = _lease_target(self)
                if state["client"] is None:
                    state["client"] = _own_client(db, settings)
            except Exception as error:
                disable("cannot renew leases (%s: %s)" % (type(error).__name__, error))
        if state["disabled"]:
            return original_lease(self, lease_secs, block, timeout)
        item = original_lease(self, settings.lease_seconds, block, timeout)
        if item:
            try:
                heartbeat.start(state["client"], key_of(item), session)
            except Exception as error:
                # The item is leased for the short time without renewal: give it the image's
                # lease time back, as if we had never been here.
                disable("cannot renew leases (%s: %s)" % (type(error).__name__, error))
                try:
                    db.expire(key_of(item), lease_secs)
                except Exception:
                    pass
        return item

    def complete(self, value):
        if not state["disabled"]:
            try:
                heartbeat.stop(_lease_target(self)[2](value))
            except Exception:
                pass
        return original_complete(self, value)

    for name, wrapper, original in (("lease", lease, original_lease), ("complete", complete, original_complete)):
        wrapper.__name__ = original.__name__
        wrapper.__doc__ = original.__doc__
        wrapper.__wrapped__ = original
        setattr(cls, name, wrapper)
    setattr(cls, _PATCHED, True)
    cls._ard_lease_heartbeat = heartbeat


def patch_module(module, settings):
    """Patches module.RedisWQ, or warns once and leaves the module as it is."""
    try:
        cls = getattr(module, TARGET_CLASS, None)
        if not inspect.isclass(cls):
            raise ValueError("module %s has no class %s" % (module.__name__, TARGET_CLASS))
        patch_class(cls, settings)
    except Exception as error:
        warn("cannot patch %s.%s (%s); the worker runs without lease renewal" % (
            getattr(module, "__name__", TARGET_MODULE), TARGET_CLASS, error))


class _PatchingLoader(importlib.abc.Loader):
    """Runs the real loader, then patches the module. Everything else goes to the real loader."""

    def __init__(self, loader, settings):
        self._loader = loader
        self._settings = settings

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        patch_module(module, self._settings)

    def __getattr__(self, name):  # get_source, get_filename, is_package, ... for tracebacks
        return getattr(self._loader, name)


class RediswqFinder(importlib.abc.MetaPathFinder):
    """Meta path finder that wraps the loader of `rediswq` only; any other import passes by."""

    def __init__(self, settings):
        self._settings = settings
        self._busy = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET_MODULE or self._busy:
            return None
        self._busy = True
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._busy = False
        if spec is None:
            warn("no module %s found; the worker runs without lease renewal" % TARGET_MODULE)
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            warn("cannot patch %s (loader %r); the worker runs without lease renewal" % (TARGET_MODULE, spec.loader))
            return spec
        spec.loader = _PatchingLoader(spec.loader, self._settings)
        return spec


def install():
    """Arranges for `rediswq` to be patched when imported (or now, if it already is)."""
    if any(isinstance(finder, RediswqFinder) for finder in sys.meta_path):
        return
    try:
        settings = Settings.from_env()
    except ValueError as error:
        warn("%s; the worker runs without lease renewal" % error)
        return
    if TARGET_MODULE in sys.modules:
        patch_module(sys.modules[TARGET_MODULE], settings)
        return
    sys.meta_path.insert(0, RediswqFinder(settings))
