package locklab;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The locklab worker protocol, version 1 (docs/worker-protocol.md), for JVM
 * lock adapters: {@link #serve} reads the start-up message, opens the
 * adapter, says ready, and answers one line per request, in order.
 *
 * <p>stdout carries protocol lines only: {@code System.out} is pointed at
 * stderr before anything else runs, and every line goes through {@link
 * #send}, which is synchronized — so a lock's background thread (a renewal
 * watchdog) may write a line of its own once the protocol has one for it
 * (version 2's renewal reports: the hook is {@link Adapter#note} today).
 */
public final class Worker {
  public static final int VERSION = 1;

  /** An error after which the operation surely did not happen. */
  public static final class Definite extends Exception {
    public Definite(String message) {
      super(message);
    }
  }

  /** One lock library behind the protocol. */
  public abstract static class Adapter {
    private final List<String> said = new ArrayList<>();

    /** The lock's name for reports: library, version, mode. */
    public abstract String name();

    /**
     * Whether it follows a Sentinel failover: with the start-up message's {@code sentinel}, it
     * finds the primary through the Sentinels and moves to the new one, as its library does.
     */
    public boolean followsFailover() {
      return false;
    }

    public abstract Map<String, Object> acquire() throws Exception;

    /** Acquire, waiting by the library's own strategy for at most the deadline. */
    public Map<String, Object> acquireWithin(long deadlineMs) throws Exception {
      throw new Definite("acquire-within: this adapter does not wait; poll acquire");
    }

    /** The retry fault's lost request; without it the lab skips the fault. */
    public Map<String, Object> acquireLost() throws Exception {
      throw new Definite("acquire-lost: this library cannot send a request again");
    }

    public Map<String, Object> acquireResent() throws Exception {
      throw new Definite("acquire-resent: this library cannot send a request again");
    }

    /** The fencing token to write with; null: the lock issues none. */
    public Long writeFence() {
      return null;
    }

    public abstract Map<String, Object> release() throws Exception;

    public abstract void reset(String lockKey) throws Exception;

    public void ping() throws Exception {}

    /** Stops the library's threads: the process is about to exit. */
    public void close() {}

    /** What the library told its caller, sent as `said` with the next reply. */
    public final synchronized void note(String text) {
      said.add(text);
    }

    final synchronized List<String> takeSaid() {
      List<String> taken = new ArrayList<>(said);
      said.clear();
      return taken;
    }
  }

  /** Opens the adapter from the start-up message. */
  @FunctionalInterface
  public interface Opener {
    Adapter open(JsonObject start) throws Exception;
  }

  private static final Gson GSON = new Gson();
  private static PrintStream out;

  private Worker() {}

  /** An answer: {@code {"ok": word}}. */
  public static Map<String, Object> ok(String word) {
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("ok", word);
    return answer;
  }

  /** A grant, with its fencing token when the lock issues one. */
  public static Map<String, Object> granted(Long fence) {
    Map<String, Object> answer = ok("granted");
    if (fence != null) {
      answer.put("fence", fence);
    }
    return answer;
  }

  /** An exception as one line: its type and message. */
  public static String describe(Throwable error) {
    String text = error.getMessage() == null ? "" : error.getMessage().trim().replaceAll("\\s+", " ");
    if (error instanceof Definite) {
      return text;
    }
    String type = error.getClass().getSimpleName();
    return text.isEmpty() ? type : type + ": " + text;
  }

  /** An exception and its root cause, as one line. */
  public static String describeWithCause(Throwable error) {
    Throwable root = error;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root == error ? describe(error) : describe(error) + " (" + describe(root) + ")";
  }

  /** Writes one protocol line (any thread). */
  public static synchronized void send(Map<String, Object> message) {
    out.print(GSON.toJson(message) + "\n");
    out.flush();
  }

  private static Map<String, Object> error(String text, boolean definite) {
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("err", text);
    if (definite) {
      answer.put("definite", true);
    }
    return answer;
  }

  private static void reply(Map<String, Object> message, Adapter adapter) {
    List<String> said = adapter == null ? List.of() : adapter.takeSaid();
    if (!said.isEmpty()) {
      message.put("said", String.join("; ", said));
    }
    send(message);
  }

  /** Serves the protocol on stdin/stdout until stdin closes or `quit`; exits. */
  public static void serve(Opener opener) {
    out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
    System.setOut(System.err);
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    Adapter adapter;
    JsonObject start;
    try {
      String line = in.readLine();
      while (line != null && line.isBlank()) {
        line = in.readLine();
      }
      if (line == null) {
        System.err.println("stdin closed before the start-up message");
        System.exit(2);
        return;
      }
      start = JsonParser.parseString(line).getAsJsonObject();
      if (!start.has("op") || !"start".equals(start.get("op").getAsString())) {
        throw new Definite("expected the start-up message, got " + cut(line));
      }
      int version = start.has("version") ? start.get("version").getAsInt() : 0;
      if (version != VERSION) {
        throw new Definite(
            "the lab speaks worker protocol version " + version + ", this adapter speaks " + VERSION);
      }
      adapter = opener.open(start);
    } catch (Exception error) {
      reply(error(describe(error), true), null);
      System.err.println("adapter: " + describe(error));
      System.exit(2);
      return;
    }
    Map<String, Object> ready = new LinkedHashMap<>();
    ready.put("ready", adapter.name());
    ready.put("version", VERSION);
    ready.put("pid", ProcessHandle.current().pid());
    ready.put("name", start.get("client").getAsString());
    if (adapter.followsFailover()) {
      ready.put("follows_failover", true);
    }
    reply(ready, null);

    try {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        JsonObject request;
        String op;
        try {
          request = JsonParser.parseString(line).getAsJsonObject();
          op = request.get("op").getAsString();
        } catch (RuntimeException error) {
          reply(error("bad request " + cut(line) + ": " + describe(error), true), adapter);
          continue;
        }
        if (op.equals("quit")) {
          reply(ok("bye"), adapter);
          break;
        }
        reply(answer(adapter, op, request), adapter);
      }
    } catch (Exception error) {
      System.err.println("adapter: reading stdin: " + describe(error));
    }
    adapter.close();
    System.exit(0);
  }

  private static Map<String, Object> answer(Adapter adapter, String op, JsonObject request) {
    try {
      switch (op) {
        case "acquire":
          return adapter.acquire();
        case "acquire-within":
          return adapter.acquireWithin(request.get("deadline_ms").getAsLong());
        case "acquire-lost":
          return adapter.acquireLost();
        case "acquire-resent":
          return adapter.acquireResent();
        case "write":
          {
            Map<String, Object> answer = ok("write-with");
            Long fence = adapter.writeFence();
            if (fence != null) {
              answer.put("fence", fence);
            }
            return answer;
          }
        case "release":
          return adapter.release();
        case "reset":
          adapter.reset(request.get("lock_key").getAsString());
          return ok("reset");
        case "ping":
          adapter.ping();
          return ok("pong");
        default:
          throw new Definite("unknown op \"" + op + "\"");
      }
    } catch (Definite error) {
      return error(describe(error), true);
    } catch (Exception error) {
      // Indefinite: the command may have run (Redisson reports a grant
      // whose replicas did not acknowledge it as an exception, too).
      error.printStackTrace();
      return error(describeWithCause(error), false);
    }
  }

  private static String cut(String line) {
    return line.length() <= 200 ? line : line.substring(0, 200) + "…";
  }
}
