package locklab;

import java.util.Map;

/**
 * A worker that talks to no Redis and grants every acquire at once: what it costs per operation
 * is the worker protocol's own cost in a JVM, which {@code locklab bench --lock-cmd} measures
 * beside the real adapters. Not a lock.
 */
public final class Noop extends Worker.Adapter {
  private boolean held;

  @Override
  public String name() {
    return "no-op (JVM, no Redis)";
  }

  @Override
  public Map<String, Object> acquire() {
    held = true;
    Map<String, Object> answer = Worker.granted(null);
    answer.put("token", Long.toString(ProcessHandle.current().pid()));
    return answer;
  }

  @Override
  public Map<String, Object> acquireWithin(long deadlineMs) {
    return acquire();
  }

  @Override
  public Map<String, Object> release() {
    boolean was = held;
    held = false;
    return Worker.ok(was ? "released" : "not-held");
  }

  @Override
  public void reset(String lockKey) {
    held = false;
  }
}
