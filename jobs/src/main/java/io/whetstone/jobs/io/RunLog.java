package io.whetstone.jobs.io;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.FileAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's log kept in the run directory ({@code whetstone.log}, the lines the console shows at INFO and above),
 * so a nightly run's log stays with its results. A local run directory gets it as it is written; on HDFS or S3 it
 * is written to a local file and copied into the run directory when the JVM exits (before Hadoop closes its file
 * systems). One run directory at a time: a later one (the demo's next stage) takes over the log.
 */
public final class RunLog {

    private static final Logger LOG = LoggerFactory.getLogger(RunLog.class);
    static final String FILE = "whetstone.log";
    private static final String APPENDER = "whetstone-run-log";

    private RunLog() {
    }

    /** Starts logging into {@code runDir} (a qualified Hadoop path); a no-op where log4j 2 is not the backend. */
    public static synchronized void attach(HadoopFiles files, String runDir) {
        LoggerContext context;
        try {
            if (!(LogManager.getContext(false) instanceof LoggerContext log4j)) {
                return;
            }
            context = log4j;
        } catch (NoClassDefFoundError e) {
            return;
        }
        try {
            URI uri = URI.create(runDir);
            boolean local = uri.getScheme() == null || uri.getScheme().equals("file");
            File target = local ? new File(new File(uri.getScheme() == null ? runDir : uri.getPath()), FILE)
                    : Files.createTempFile("whetstone-", ".log").toFile();
            Configuration config = context.getConfiguration();
            detach(config);
            FileAppender appender = FileAppender.newBuilder().setName(APPENDER).withFileName(target.getPath())
                    .withAppend(true).setLayout(PatternLayout.newBuilder().withConfiguration(config)
                            .withPattern("%d{yyyy-MM-dd HH:mm:ss} %-5p %c{1}: %m%n").build())
                    .build();
            appender.start();
            config.addAppender(appender);
            config.getRootLogger().addAppender(appender, Level.INFO, null);
            context.updateLoggers();
            if (!local) {
                copyAtExit(files, target, new Path(runDir, FILE));
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot keep the log in {}: {}", runDir, e.getMessage());
        }
    }

    private static void detach(Configuration config) {
        if (config.getAppender(APPENDER) != null) {
            config.getRootLogger().removeAppender(APPENDER);
            config.getAppender(APPENDER).stop();
            config.getAppenders().remove(APPENDER);
        }
    }

    private static void copyAtExit(HadoopFiles files, File local, Path target) {
        org.apache.hadoop.util.ShutdownHookManager.get().addShutdownHook(() -> {
            try {
                files.writeBytes(target, Files.readAllBytes(local.toPath()));
                Files.deleteIfExists(local.toPath());
            } catch (IOException | RuntimeException e) {
                System.err.println("whetstone: the log stays in " + local + ": cannot copy it to " + target + ": "
                        + e.getMessage());
            }
        }, FileSystem.SHUTDOWN_HOOK_PRIORITY + 10);
    }
}
