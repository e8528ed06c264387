package locklab;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.redisson.Redisson;
import org.redisson.api.RFencedLock;
import org.redisson.api.RLock;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;
import org.redisson.config.SentinelServersConfig;
import org.redisson.config.SingleServerConfig;

/**
 * Redisson's locks as locklab workers, one mode each:
 *
 * <ul>
 *   <li>{@code watchdog}: {@code RLock} as people use it — no lease given, so Redisson's
 *       watchdog renews the lock every third of {@code lockWatchdogTimeout} while the process
 *       runs; the timeout (30 s by default) is set to the lab's lease, so that a pause past it
 *       loses the lock as a 30 s GC pause would.
 *   <li>{@code lease}: {@code RLock} with an explicit lease ({@code tryLock(0, lease, ms)}): no
 *       watchdog, the key expires with the lease.
 *   <li>{@code fenced}: {@code RFencedLock} with an explicit lease; the token Redisson returns
 *       with the grant (an {@code INCR} on {@code redisson_lock_token:{key}} in the grant's
 *       script) is the fencing token the lab writes with.
 * </ul>
 *
 * <p>One attempt per {@code acquire} ({@code tryLock} without a wait); {@code acquire-within}
 * is Redisson's own waiting (a pub/sub wake-up when the lock is released). Redisson's locks
 * belong to a thread: the protocol loop is one thread, so every grant and unlock is that
 * thread's. An unlock of a lock that is no longer ours throws {@code
 * IllegalMonitorStateException}: that is what Redisson tells its caller when it lost the lock
 * (passed on as {@code said}); the watchdog stops silently when a renewal finds the key gone.
 *
 * <p>The retry fault is Redisson's own retry: a command whose reply does not come within
 * {@code timeout} is sent again, the same script with the same arguments (the lock's entry
 * {@code <client id>:<thread id>}). {@code acquire-lost} runs an acquire and drops its answer;
 * {@code acquire-resent} runs the same one again — the script then finds its own entry and
 * re-enters (hold count 2): a later unlock leaves one level held.
 *
 * <p>With a {@code sentinel} field in the start-up message (the lab's Sentinel set), Redisson
 * is configured as its Sentinel client, and follows a failover as it does: by the Sentinels'
 * {@code +switch-master}, and by rescanning them. Redisson's locks then {@code WAIT} for the
 * replicas after each grant ({@code checkLockSyncedSlaves}, on by default): when none
 * acknowledged within {@code slavesSyncTimeout} (1 s) the acquire throws {@code
 * NoSyncedSlavesException} — and the lock key and the counter's increment stay on the primary.
 * {@code --unsynced} turns the check off.
 */
public final class RedissonLocks extends Worker.Adapter {
  /** The lock's mode, from the command line. */
  public enum Mode {
    WATCHDOG("RLock, watchdog"),
    LEASE("RLock, lease"),
    FENCED("RFencedLock, lease");

    final String label;

    Mode(String label) {
      this.label = label;
    }
  }

  private final Mode mode;
  private final boolean unsynced;
  private final RedissonClient redisson;
  private final long lease;
  private String key;
  private RLock lock;
  private int holds;
  private Long fence;

  private RedissonLocks(
      Mode mode, boolean unsynced, RedissonClient redisson, long lease, String key) {
    this.mode = mode;
    this.unsynced = unsynced;
    this.redisson = redisson;
    this.lease = lease;
    this.key = key;
  }

  /** Opens a Redisson client as the start-up message says. */
  public static RedissonLocks open(Mode mode, JsonObject start, boolean unsynced) {
    Config config = new Config();
    config.setCheckLockSyncedSlaves(!unsynced);
    long lease = start.get("lease_ms").getAsLong();
    int connect = start.get("connect_timeout_ms").getAsInt();
    int response = start.get("response_timeout_ms").getAsInt();
    config.setLockWatchdogTimeout(lease);
    // Few threads and connections: one client per process, one request at a time.
    config.setThreads(2).setNettyThreads(2);
    JsonElement sentinel = start.get("sentinel");
    if (sentinel != null && sentinel.isJsonObject()) {
      JsonObject set = sentinel.getAsJsonObject();
      SentinelServersConfig servers =
          config
              .useSentinelServers()
              .setMasterName(set.get("service").getAsString())
              .setCheckSentinelsList(false)
              .setScanInterval(100)
              .setConnectTimeout(connect)
              .setTimeout(response)
              .setMasterConnectionMinimumIdleSize(1)
              .setMasterConnectionPoolSize(2)
              .setSlaveConnectionMinimumIdleSize(0)
              .setSubscriptionConnectionMinimumIdleSize(1)
              .setSubscriptionConnectionPoolSize(1);
      for (JsonElement addr : set.getAsJsonArray("addrs")) {
        servers.addSentinelAddress("redis://" + addr.getAsString());
      }
    } else {
      SingleServerConfig server =
          config
              .useSingleServer()
              .setAddress(start.get("redis").getAsString())
              .setConnectTimeout(connect)
              .setTimeout(response)
              .setConnectionMinimumIdleSize(1)
              .setConnectionPoolSize(2)
              .setSubscriptionConnectionMinimumIdleSize(1)
              .setSubscriptionConnectionPoolSize(1);
      server.setPingConnectionInterval(0);
    }
    RedissonClient redisson = Redisson.create(config);
    return new RedissonLocks(
        mode, unsynced, redisson, lease, start.get("lock_key").getAsString());
  }

  @Override
  public String name() {
    return "Redisson " + VERSION + " " + mode.label + (unsynced ? ", checkLockSyncedSlaves off" : "");
  }

  /** Redisson's version, from the Maven metadata the jar carries. */
  private static final String VERSION = redissonVersion();

  private static String redissonVersion() {
    java.util.Properties pom = new java.util.Properties();
    try (java.io.InputStream in =
        Redisson.class.getResourceAsStream(
            "/META-INF/maven/org.redisson/redisson/pom.properties")) {
      if (in != null) {
        pom.load(in);
      }
    } catch (java.io.IOException ignored) {
      // Unknown: said as such.
    }
    return pom.getProperty("version", "(version unknown)");
  }

  @Override
  public boolean followsFailover() {
    return true;
  }

  private RLock newLock() {
    return mode == Mode.FENCED ? redisson.getFencedLock(key) : redisson.getLock(key);
  }

  /** One attempt, waiting at most {@code waitMs} (0: none); the token, or null when refused. */
  private Attempt attempt(long waitMs) throws InterruptedException {
    RLock attempted = newLock();
    switch (mode) {
      case WATCHDOG:
        return new Attempt(attempted, attempted.tryLock(waitMs, TimeUnit.MILLISECONDS), null);
      case LEASE:
        return new Attempt(
            attempted, attempted.tryLock(waitMs, lease, TimeUnit.MILLISECONDS), null);
      default:
        Long token =
            ((RFencedLock) attempted).tryLockAndGetToken(waitMs, lease, TimeUnit.MILLISECONDS);
        return new Attempt(attempted, token != null, token);
    }
  }

  private record Attempt(RLock lock, boolean granted, Long fence) {}

  private Map<String, Object> took(Attempt attempt) {
    if (!attempt.granted()) {
      return Worker.ok("busy");
    }
    lock = attempt.lock();
    holds += 1;
    fence = attempt.fence();
    Map<String, Object> answer = Worker.granted(fence);
    if (holds > 1) {
      answer.put("count", holds);
    }
    return answer;
  }

  @Override
  public Map<String, Object> acquire() throws Exception {
    return took(attempt(0));
  }

  @Override
  public Map<String, Object> acquireWithin(long deadlineMs) throws Exception {
    return took(attempt(deadlineMs));
  }

  @Override
  public Map<String, Object> acquireLost() throws Exception {
    Attempt lost = attempt(0);
    return lost.granted() ? Worker.granted(lost.fence()) : Worker.ok("busy");
  }

  @Override
  public Map<String, Object> acquireResent() throws Exception {
    return took(attempt(0));
  }

  @Override
  public Long writeFence() {
    return mode == Mode.FENCED ? (fence == null ? 0L : fence) : null;
  }

  @Override
  public Map<String, Object> release() throws Exception {
    if (holds == 0) {
      throw new Worker.Definite("nothing to release: no grant held");
    }
    holds -= 1;
    RLock held = lock;
    if (holds == 0) {
      lock = null;
      fence = null;
    }
    try {
      held.unlock();
    } catch (IllegalMonitorStateException error) {
      note(Worker.describe(error));
      holds = 0;
      lock = null;
      fence = null;
      return Worker.ok("not-held");
    }
    if (holds > 0) {
      Map<String, Object> answer = Worker.ok("still-held");
      answer.put("count", holds);
      return answer;
    }
    return Worker.ok("released");
  }

  @Override
  public void reset(String lockKey) {
    if (lock != null && holds > 0) {
      // Stops the watchdog of a grant the lab forgets (its keys are gone).
      try {
        lock.forceUnlock();
      } catch (RuntimeException ignored) {
        // The next schedule's keys are new: a failed cleanup cannot reach them.
      }
    }
    key = lockKey;
    lock = null;
    holds = 0;
    fence = null;
  }

  @Override
  public void ping() {
    redisson.getKeys().count();
  }

  @Override
  public void close() {
    redisson.shutdown(0, 1, TimeUnit.SECONDS);
  }
}
