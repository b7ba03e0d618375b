package org.graphflow.neo4j;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

/**
 * Runs Neo4j Community (embedded) with the Bolt connector on a loopback address, until SIGTERM.
 *
 * <p>Usage: {@code Launcher -data HOME [-port 7687] [-host 127.0.0.1] [-pagecache 512m]
 * [-stop-on-stdin-eof] [-set key=value ...]}. {@code HOME} is a Neo4j home directory
 * (databases under {@code HOME/data}, logs under {@code HOME/logs}), the same layout that
 * {@code neo4j-admin database import} writes, so a bulk import can be served by this launcher.
 *
 * <p>Authentication is disabled: the server only listens on loopback. When the database is
 * available it prints one line {@code graphflow-neo4j ready bolt://HOST:PORT} on stdout; on
 * SIGTERM (or SIGINT, or end of stdin with {@code -stop-on-stdin-eof}) it shuts the database
 * down cleanly, prints {@code graphflow-neo4j stopped} and exits 0.
 */
public final class Launcher {
    private Launcher() {}

    private static void usage(String message) {
        System.err.println("graphflow-neo4j: " + message);
        System.err.println("usage: Launcher -data HOME [-port 7687] [-host 127.0.0.1] "
                + "[-pagecache 512m] [-stop-on-stdin-eof] [-set key=value ...]");
        System.exit(2);
    }

    public static void main(String[] args) throws Exception {
        Path home = null;
        String host = "127.0.0.1";
        int port = 7687;
        String pageCache = "512m";
        boolean stopOnStdinEof = false;
        Map<String, String> extra = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            boolean hasValue = i + 1 < args.length;
            switch (a) {
                case "-data" -> { if (!hasValue) usage("-data needs a value"); home = Path.of(args[++i]); }
                case "-host" -> { if (!hasValue) usage("-host needs a value"); host = args[++i]; }
                case "-port" -> {
                    if (!hasValue) usage("-port needs a value");
                    port = Integer.parseInt(args[++i]);
                }
                case "-pagecache" -> { if (!hasValue) usage("-pagecache needs a value"); pageCache = args[++i]; }
                case "-stop-on-stdin-eof" -> stopOnStdinEof = true;
                case "-set" -> {
                    if (!hasValue || !args[i + 1].contains("=")) usage("-set needs key=value");
                    String kv = args[++i];
                    extra.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                }
                default -> usage("unknown argument " + a);
            }
        }
        if (home == null) {
            usage("-data is required");
        }
        Files.createDirectories(home);

        Map<String, String> config = new HashMap<>();
        config.put("server.bolt.enabled", "true");
        config.put("server.bolt.listen_address", host + ":" + port);
        config.put("server.bolt.advertised_address", host + ":" + port);
        config.put("server.bolt.tls_level", "DISABLED");
        config.put("server.memory.pagecache.size", pageCache);
        config.put("dbms.security.auth_enabled", "false");
        // never phone home: this machine reaches package registries only
        config.put("dbms.usage_report.enabled", "false");
        // a development server: keep only the transaction logs that recovery needs
        config.put("db.tx_log.rotation.retention_policy", "false");
        config.putAll(extra);

        // One configuration file, HOME/conf/neo4j.conf, read by this launcher and by
        // neo4j-admin (NEO4J_CONF=HOME/conf) alike, so both see the same store layout.
        Path conf = home.resolve("conf").resolve("neo4j.conf");
        Files.createDirectories(conf.getParent());
        StringBuilder text = new StringBuilder("# written by the GraphFlow Neo4j launcher at each start\n");
        config.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> text.append(e.getKey()).append('=').append(e.getValue()).append('\n'));
        Files.writeString(conf, text.toString());

        final DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .loadPropertiesFromFile(conf)
                .build();
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                dbms.shutdown();
                System.out.println("graphflow-neo4j stopped");
                System.out.flush();
            } finally {
                stopped.countDown();
            }
        }, "graphflow-neo4j-shutdown"));

        GraphDatabaseService db = dbms.database("neo4j");
        while (!db.isAvailable(TimeUnit.SECONDS.toMillis(60))) {
            System.err.println("graphflow-neo4j: waiting for database neo4j");
        }
        System.out.println("graphflow-neo4j ready bolt://" + host + ":" + port);
        System.out.flush();

        if (stopOnStdinEof) {
            // the parent (e.g. a test fixture) holds our stdin: when it dies, we stop too
            Thread watcher = new Thread(() -> {
                InputStream in = System.in;
                byte[] buf = new byte[256];
                try {
                    while (in.read(buf) >= 0) {
                        // discard
                    }
                } catch (IOException e) {
                    // treat like end of input
                }
                System.exit(0);
            }, "graphflow-neo4j-stdin");
            watcher.setDaemon(true);
            watcher.start();
        }
        stopped.await();
    }
}
