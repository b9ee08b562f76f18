package io.whetstone.jobs.sft;

import io.whetstone.jobs.config.InjectedFailure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.SftConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SFT reading its corpus from hdfs:// and writing and resuming checkpoints there (in-process HDFS). */
class HdfsTest {

    @TempDir
    static Path base;
    private static MiniDFSCluster cluster;
    private static String root;

    @BeforeAll
    static void startHdfs() throws IOException {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.resolve("hdfs").toString());
        conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        cluster.waitActive();
        root = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
    }

    @AfterAll
    static void stopHdfs() {
        if (cluster != null) {
            cluster.shutdown();
        }
    }

    @Test
    void trainsFromHdfsAndResumesFromCheckpointsOnHdfs() throws IOException {
        FileSystem fs = cluster.getFileSystem();
        try (OutputStream out = fs.create(new org.apache.hadoop.fs.Path("/corpus/part-0.jsonl"))) {
            out.write((String.join("\n", TestData.promptCompletionLines(60, 9)) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        String runDir = root + "/runs/sft";
        List<String> settings = new ArrayList<>(List.of("run.dir=" + runDir, "data.path=" + root + "/corpus",
                "data.seq_len=48", "model.width=32", "model.layers=1", "model.heads=2", "model.ffn_hidden=64",
                "train.rounds=4", "train.averaging_frequency=2", "train.batch_size_per_worker=4",
                "spark.partitions=2", "spark.threads_per_task=1", "checkpoint.every_rounds=1"));
        List<String> failing = new ArrayList<>(settings);
        failing.add("debug.fail_after_round=2");
        assertThrows(InjectedFailure.class,
                () -> new SftJob(SparkTestSession.get(), SftConfig.load(null, failing)).run());
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/runs/sft/checkpoints/round-000002/_SUCCESS")));

        SftResult resumed = new SftJob(SparkTestSession.get(), SftConfig.load(null, settings)).run();
        assertEquals(2, resumed.roundsRun());
        assertTrue(resumed.checkpoint().startsWith(root), resumed.checkpoint());
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/runs/sft/checkpoints/round-000004/model.safetensors")));
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/runs/sft/metrics.jsonl")));
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/runs/_cache")), "tokenized corpus cached on HDFS");
    }
}
