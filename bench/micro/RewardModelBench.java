// A reward model scoring completions one forward pass per sequence (ModelReward.score, the plain reference) against
// batched passes (ModelReward.scoreAll), interleaved, on the same inputs; prints sequences/s of each, their ratio
// and the largest difference between the two scores. Arguments: reward model directory, a JSONL of
// {question, answer} records (each answer scored as the completion of its question), how many, rounds.
// Run (after `submit/local demo --run-dir /tmp/demo`; Spark needs the module openings submit/local passes):
//   mvn -q -o install -DskipTests -DskipITs
//   mvn -o -q -pl jobs dependency:build-classpath -Dmdep.outputFile=/tmp/cpj.txt
//   java --add-modules=jdk.incubator.vector --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
//     --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
//     --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
//     -Dlog4j2.configurationFile=conf/log4j2.properties \
//     -cp jobs/target/classes:$(sed 's/\x1b\[[0-9;]*m//g' /tmp/cpj.txt) bench/micro/RewardModelBench.java \
//     /tmp/demo/reward_model/reward_model /tmp/demo/data/data/heldout.jsonl 1000 8
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.rewards.RewardInput;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.rollout.ModelReward;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.nd4j.linalg.api.buffer.DataType;

public class RewardModelBench {
    public static void main(String[] a) throws Exception {
        int count = Integer.parseInt(a[2]);
        int rounds = Integer.parseInt(a[3]);
        ObjectMapper json = new ObjectMapper();
        List<RewardInput> inputs = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(a[1]))) {
            if (inputs.size() == count) break;
            JsonNode record = json.readTree(line);
            String answer = record.get("answer").asText();
            inputs.add(new RewardInput(record.get("question").asText() + "\n", answer, "", answer.length(), false));
        }
        try (JavaSparkContext context = new JavaSparkContext(new SparkConf().setMaster("local[1]").setAppName("bench")
                .set("spark.ui.enabled", "false"))) {
            ModelReward reward = ModelReward.load(context, new HadoopFiles(context.hadoopConfiguration()),
                    Path.of(a[0]).toUri().toString(), new EngineOptions(DataType.FLOAT, KernelChoice.AUTO,
                            Runtime.getRuntime().availableProcessors()));
            reward.score(inputs.get(0)); // builds the pooled model
            for (int round = 0; round < rounds; round++) {
                long t0 = System.nanoTime();
                double[] each = new double[inputs.size()];
                for (int i = 0; i < each.length; i++) {
                    each[i] = reward.score(inputs.get(i));
                }
                long t1 = System.nanoTime();
                double[] batched = reward.scoreAll(inputs);
                long t2 = System.nanoTime();
                double diff = 0;
                for (int i = 0; i < each.length; i++) {
                    diff = Math.max(diff, Math.abs(each[i] - batched[i]));
                }
                double perSecondEach = inputs.size() / ((t1 - t0) / 1e9);
                double perSecondBatched = inputs.size() / ((t2 - t1) / 1e9);
                System.out.printf("round %d: one by one %.0f seq/s, batched %.0f seq/s, ratio %.2fx, max |diff| %.2e%n",
                        round, perSecondEach, perSecondBatched, perSecondBatched / perSecondEach, diff);
            }
        }
    }
}
