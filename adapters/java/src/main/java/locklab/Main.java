package locklab;

import java.util.Locale;

/** {@code java -jar locklab-redisson.jar watchdog|lease|fenced}: one of Redisson's locks. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // Redisson's log (SLF4J simple: stderr) from warnings up.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    RedissonLocks.Mode mode;
    try {
      mode = RedissonLocks.Mode.valueOf(args.length == 1 ? args[0].toUpperCase(Locale.ROOT) : "");
    } catch (IllegalArgumentException error) {
      System.err.println("usage: locklab-redisson watchdog|lease|fenced");
      System.exit(2);
      return;
    }
    Worker.serve(start -> RedissonLocks.open(mode, start));
  }
}
