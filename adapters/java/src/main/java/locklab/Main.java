package locklab;

import java.util.Locale;

/**
 * {@code java -jar locklab-redisson.jar watchdog|lease|fenced [--unsynced]}: one of Redisson's
 * locks; {@code --unsynced} sets {@code checkLockSyncedSlaves = false}, as Redisson's own error
 * message suggests when no replica acknowledged a grant. {@code noop}: no lock and no Redis, the
 * protocol's own cost in a JVM.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // Redisson's log (SLF4J simple: stderr) from warnings up.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    if (args.length == 1 && args[0].equals("noop")) {
      Worker.serve(start -> new Noop());
      return;
    }
    boolean unsynced = args.length == 2 && args[1].equals("--unsynced");
    RedissonLocks.Mode mode;
    try {
      if (args.length == 0 || args.length > 2 || (args.length == 2 && !unsynced)) {
        throw new IllegalArgumentException();
      }
      mode = RedissonLocks.Mode.valueOf(args[0].toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException error) {
      System.err.println("usage: locklab-redisson watchdog|lease|fenced [--unsynced] | noop");
      System.exit(2);
      return;
    }
    Worker.serve(start -> RedissonLocks.open(mode, start, unsynced));
  }
}
