package io.whetstone.jobs.pipeline;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;

/**
 * {@code stage.json} in a stage's directory: what ran (the command line after placeholders), the fingerprint of
 * everything that decides its output (the command line, the config file's bytes, its inputs' listings and the
 * fingerprints of the stages it reads from), its status ({@code running}, {@code done}, {@code failed}), and its
 * outputs for later stages. A {@code _SUCCESS} file beside it marks a stage that completed.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StageRecord(String name, String command, List<String> argv, String fingerprint, String configSha256,
                          Map<String, String> inputs, Map<String, String> upstream, String status, Integer exitCode,
                          String started, Double seconds, Map<String, String> outputs) {

    /** The file's name. */
    public static final String FILE = "stage.json";

    static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** This record with a new status, exit code, duration and outputs. */
    StageRecord finish(String newStatus, int code, double elapsed, Map<String, String> newOutputs) {
        return new StageRecord(name, command, argv, fingerprint, configSha256, inputs, upstream, newStatus, code,
                started, elapsed, newOutputs);
    }

    /** This record with the fingerprint and inputs of {@code now}, the same stage planned again. */
    StageRecord refingerprinted(StageRecord now) {
        return new StageRecord(name, command, argv, now.fingerprint(), now.configSha256(), now.inputs(), now.upstream(),
                status, exitCode, started, seconds, outputs);
    }

    /** Writes {@code stage.json} into {@code dir}. */
    void write(HadoopFiles files, String dir) {
        try {
            files.writeBytes(new Path(dir, FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The record in {@code dir}, or null when there is none or it cannot be read (a stage that never started). */
    public static StageRecord read(HadoopFiles files, String dir) {
        Path path = new Path(dir, FILE);
        if (!files.exists(path)) {
            return null;
        }
        try {
            return JSON.readValue(files.readBytes(path), StageRecord.class);
        } catch (IOException | UncheckedIOException e) {
            return null;
        }
    }
}
